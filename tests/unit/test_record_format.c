/*
 * test_record_format.c — the recording file (lib/record/record.h): what
 * the writer puts in, the reader gets back, exactly; and every way a file
 * can be wrong gets the right answer.
 *
 * Covered: a round trip of every record type (negative fds, events out of
 * time order, 64-bit values, a sparse histogram, threads); a file cut at
 * every possible length reads up to its last whole record and says it was
 * cut short, never an error, never a crash; one flipped byte anywhere
 * after the header is reported as damage with the record's offset (or,
 * in a length field, as a cut-short file); another format version, a file
 * that is not a recording, an empty file and a missing file each get
 * their own clear message.
 *
 * Files live in a temporary directory made by the test and removed by it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/histogram.h"
#include "record/record.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_record_format.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/run.rec", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char other[160];
    unlink(path);
    snprintf(other, sizeof other, "%s/cut.rec", dir);
    unlink(other);
    rmdir(dir);
    return 0;
}

static const struct probe_event_record sample_events[] = {
    { .t_ns = 1000000, .kind = PROBE_EV_POLL_ENTER, .ring = 0, .fd = -1, .a = UINT64_MAX },
    { .t_ns = 1000500, .kind = PROBE_EV_POLL_RETURN, .ring = 0, .fd = -1, .a = 2 },
    { .t_ns = 1000400, .kind = PROBE_EV_ACCEPT, .ring = 3, .fd = 7 },     /* out of order */
    { .t_ns = 1300000, .kind = PROBE_EV_HANDLER_END, .ring = 255, .fd = 65000, .a = 4,
      .b = 299999999 },
    { .t_ns = UINT64_MAX - 5, .kind = 999, .ring = 1, .fd = -2147483647 - 1, .a = 1,
      .b = UINT64_MAX },
};
#define SAMPLE_COUNT (sizeof sample_events / sizeof sample_events[0])

/* A snapshot with a few gauges, a sparse histogram and two threads. */
static struct probe_snapshot *sample_snapshot(void)
{
    struct probe_snapshot *snap = calloc(1, sizeof *snap);
    assert_non_null(snap);
    snap->taken_ns = 2000000;
    snap->writer_alive = true;
    for (int g = 0; g < PROBE_GAUGE_COUNT; g++)
        snap->gauges[g] = g == PROBE_GAUGE_CONNECTIONS ? -3 : (int64_t)g * 1000003;
    for (int h = 0; h < PROBE_HIST_COUNT; h++)
        histogram_init(&snap->hists[h]);
    histogram_record(&snap->hists[PROBE_HIST_HANDLER_NS], 300000000);
    histogram_record(&snap->hists[PROBE_HIST_HANDLER_NS], 12);
    histogram_record(&snap->hists[PROBE_HIST_LOOP_LAG_NS], 0);
    snap->thread_count = 2;
    snap->threads[0] = (struct probe_thread_info){ .ring = 0, .tid = 4242, .role = "loop",
        .state = PROBE_STATE_BLOCKED, .call = PROBE_CALL_SLEEP, .fd = 7, .since_ns = 1000,
        .events_written = 123456789 };
    snap->threads[1] = (struct probe_thread_info){ .ring = 255, .tid = 1, .role = "worker",
        .state = PROBE_STATE_HANDLER, .route = 4, .fd = -1, .since_ns = UINT64_MAX };
    return snap;
}

/* Writes one of each record type; returns the file's size. */
static off_t write_sample(void)
{
    struct record_writer *writer;
    char err[256];
    assert_int_equal(record_writer_open(&writer, path, err, sizeof err), 0);
    struct probe_info info = { .layout_version = 1, .name = "demo-loop", .model = "loop",
                               .port = 8080, .pid = 99, .start_realtime_ns = 5,
                               .start_mono_ns = 6 };
    assert_int_equal(record_writer_server(writer, 2, &info, 777), 0);
    struct probe_snapshot *snap = sample_snapshot();
    assert_int_equal(record_writer_snapshot(writer, 2, snap, 123456), 0);
    free(snap);
    assert_int_equal(record_writer_events(writer, 2, sample_events, SAMPLE_COUNT), 0);
    assert_int_equal(record_writer_gap(writer, 2, 3000000, 4096), 0);
    assert_int_equal(record_writer_gone(writer, 2, 4000000), 0);
    assert_int_equal(record_writer_close(writer, 5000000, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_round_trip(void **state)
{
    (void)state;
    write_sample();
    struct record_reader *reader;
    char err[256] = "";
    assert_int_equal(record_reader_open(&reader, path, err, sizeof err), 0);
    struct record_item item;

    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_SERVER);
    assert_int_equal(item.server, 2);
    assert_int_equal(item.offset, RECORD_HEADER_BYTES);
    assert_string_equal(item.server_info->info.name, "demo-loop");
    assert_string_equal(item.server_info->info.model, "loop");
    assert_int_equal(item.server_info->info.port, 8080);
    assert_int_equal(item.server_info->info.pid, 99);
    assert_int_equal(item.server_info->attached_ns, 777);

    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_SNAPSHOT);
    assert_int_equal(item.rss_bytes, 123456);
    struct probe_snapshot *want = sample_snapshot();
    const struct probe_snapshot *got = item.snapshot;
    assert_int_equal(got->taken_ns, want->taken_ns);
    assert_true(got->writer_alive);
    for (int g = 0; g < PROBE_GAUGE_COUNT; g++)
        assert_int_equal(got->gauges[g], want->gauges[g]);
    for (int h = 0; h < PROBE_HIST_COUNT; h++) {
        assert_int_equal(histogram_count(&got->hists[h]), histogram_count(&want->hists[h]));
        assert_int_equal(histogram_max(&got->hists[h]), histogram_max(&want->hists[h]));
        for (size_t b = 0; b < HIST_BUCKETS; b++)
            assert_int_equal(atomic_load(&got->hists[h].buckets[b]),
                             atomic_load(&want->hists[h].buckets[b]));
    }
    assert_int_equal(histogram_percentile(&got->hists[PROBE_HIST_HANDLER_NS], 99),
                     histogram_percentile(&want->hists[PROBE_HIST_HANDLER_NS], 99));
    assert_int_equal(got->thread_count, 2);
    assert_memory_equal(&got->threads[0], &want->threads[0], sizeof got->threads[0]);
    assert_memory_equal(&got->threads[1], &want->threads[1], sizeof got->threads[1]);
    free(want);

    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_EVENTS);
    assert_int_equal(item.event_count, SAMPLE_COUNT);
    for (size_t i = 0; i < SAMPLE_COUNT; i++)
        assert_memory_equal(&item.events[i], &sample_events[i], sizeof sample_events[i]);

    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_GAP);
    assert_int_equal(item.t_ns, 3000000);
    assert_int_equal(item.lost, 4096);
    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_GONE);
    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 1);
    assert_int_equal(item.type, RECORD_END);
    assert_int_equal(item.t_ns, 5000000);
    assert_int_equal(record_reader_next(reader, &item, err, sizeof err), 0);
    uint64_t where = 0;
    assert_false(record_reader_truncated(reader, &where));
    assert_true(record_reader_saw_end(reader));
    record_reader_close(reader);
}

/* Copies the first `length` bytes of the sample file to cut.rec. */
static void write_prefix(const char *from, const char *to, off_t length)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(in >= 0 && out >= 0);
    char *bytes = malloc((size_t)length + 1);
    assert_non_null(bytes);
    assert_int_equal(read(in, bytes, (size_t)length), length);
    assert_int_equal(write(out, bytes, (size_t)length), length);
    free(bytes);
    close(in);
    close(out);
}

/* Reads a file to its end; returns the number of records, or the
 * negative error, with the message in err. */
static int read_all(const char *file, char *err, size_t err_len, bool *truncated)
{
    struct record_reader *reader;
    int rc = record_reader_open(&reader, file, err, err_len);
    if (rc < 0)
        return rc;
    struct record_item item;
    int records = 0;
    while ((rc = record_reader_next(reader, &item, err, err_len)) > 0)
        records++;
    *truncated = record_reader_truncated(reader, NULL);
    record_reader_close(reader);
    return rc < 0 ? rc : records;
}

static void test_cut_at_every_length(void **state)
{
    (void)state;
    off_t size = write_sample();
    char cut[160];
    snprintf(cut, sizeof cut, "%s/cut.rec", dir);
    int previous = 0;
    for (off_t length = 0; length <= size; length++) {
        write_prefix(path, cut, length);
        char err[256] = "";
        bool truncated = false;
        int records = read_all(cut, err, sizeof err, &truncated);
        if (length < RECORD_HEADER_BYTES) {
            /* Too short for the header: refused, with a reason. */
            assert_true(records < 0);
            assert_true(strstr(err, "truncated") != NULL ||
                        strstr(err, "not an evlab recording") != NULL);
            continue;
        }
        /* Never an error: every whole record before the cut, in order. */
        if (records < 0)
            fail_msg("cut at %lld of %lld bytes: %s", (long long)length, (long long)size, err);
        assert_true(records >= previous);
        assert_int_equal(truncated, length < size);
        previous = records;
    }
    assert_int_equal(previous, 6);
}

static void test_flipped_byte_is_damage_with_offset(void **state)
{
    (void)state;
    off_t size = write_sample();
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    int damaged = 0;
    for (off_t at = RECORD_HEADER_BYTES; at < size; at++) {
        unsigned char byte, flipped;
        assert_int_equal(pread(fd, &byte, 1, at), 1);
        flipped = byte ^ 0x40;
        assert_int_equal(pwrite(fd, &flipped, 1, at), 1);
        char err[256] = "";
        bool truncated = false;
        int rc = read_all(path, err, sizeof err, &truncated);
        assert_int_equal(pwrite(fd, &byte, 1, at), 1);
        /* A flip in a length field can make a record look longer than the
         * file: that reads as cut short, which is still not silent. */
        if (rc >= 0) {
            assert_true(truncated);
            continue;
        }
        assert_int_equal(rc, -EBADMSG);
        assert_non_null(strstr(err, "offset"));
        assert_non_null(strstr(err, "damaged"));
        damaged++;
    }
    close(fd);
    assert_true(damaged > size / 2);
}

static void test_other_version_and_foreign_files(void **state)
{
    (void)state;
    write_sample();
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char version[4] = { 2, 0, 0, 0 };
    assert_int_equal(pwrite(fd, version, 4, 8), 4);
    close(fd);
    char err[256] = "";
    struct record_reader *reader = NULL;
    assert_int_equal(record_reader_open(&reader, path, err, sizeof err), -EPROTO);
    assert_null(reader);
    assert_non_null(strstr(err, "version 2"));
    assert_non_null(strstr(err, "version 1"));

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"traceEvents\": []}\n", f);
    fclose(f);
    assert_int_equal(record_reader_open(&reader, path, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not an evlab recording"));

    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(record_reader_open(&reader, path, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "0 bytes"));

    unlink(path);
    assert_int_equal(record_reader_open(&reader, path, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, path));
}

static void test_writer_reports_unwritable_path(void **state)
{
    (void)state;
    struct record_writer *writer = NULL;
    char err[256] = "";
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.rec", dir);
    assert_int_equal(record_writer_open(&writer, bad, err, sizeof err), -ENOENT);
    assert_null(writer);
    assert_non_null(strstr(err, bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_at_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_is_damage_with_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_version_and_foreign_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_reports_unwritable_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
