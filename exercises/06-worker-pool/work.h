/*
 * work.h — the CPU-bound job of exercise 06, given to you (do not edit;
 * the grader uses its own copy).
 *
 * work_compute(ms, input) keeps the calling thread busy for about `ms`
 * milliseconds of its own CPU time (CLOCK_THREAD_CPUTIME_ID: time the
 * thread really ran, so a busy machine makes it take longer on the wall
 * clock, never shorter), then returns an answer that depends only on
 * `input`.  The tests compute the same answer with work_answer() and
 * compare.  It touches no shared state, so any thread may call it.
 */
#ifndef EX06_WORK_H
#define EX06_WORK_H

#include <stdint.h>
#include <time.h>

/* The answer for `input`: one step of the splitmix64 generator. */
static inline uint64_t work_answer(uint64_t input)
{
    uint64_t z = input + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t work_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t work_compute(uint32_t ms, uint64_t input)
{
    uint64_t until = work_thread_cpu_ns() + (uint64_t)ms * 1000000u;
    /* volatile: the compiler must not throw the busy work away. */
    volatile uint64_t churn = input;
    while (work_thread_cpu_ns() < until) {
        for (int i = 0; i < 4096; i++)
            churn = churn * 6364136223846793005u + 1442695040888963407u;
    }
    return work_answer(input);
}

#endif
