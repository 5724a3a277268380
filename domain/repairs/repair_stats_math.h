/* repair_stats_math.h: the arithmetic of the repair statistics (pure). */
#ifndef GW_REPAIR_STATS_MATH_H
#define GW_REPAIR_STATS_MATH_H

/* Nearest-rank percentile (pct 1-100) of n ascending values: the smallest
 * value with at least pct% of the values at or below it. 0 when n is 0. */
long long repair_percentile(const long long *sorted, int n, int pct);
/* Arithmetic mean rounded to the nearest integer; 0 when n is 0. */
long long repair_mean(const long long *values, int n);

#endif
