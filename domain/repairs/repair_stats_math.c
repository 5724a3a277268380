#include "domain/repairs/repair_stats_math.h"

long long repair_percentile(const long long *sorted, int n, int pct)
{
    if (n <= 0)
        return 0;
    if (pct < 1)
        pct = 1;
    if (pct > 100)
        pct = 100;
    /* rank = ceil(pct / 100 * n), 1-based */
    long long rank = ((long long)pct * n + 99) / 100;
    return sorted[rank - 1];
}

long long repair_mean(const long long *values, int n)
{
    if (n <= 0)
        return 0;
    long double sum = 0;
    for (int i = 0; i < n; i++)
        sum += values[i];
    long double mean = sum / n;
    return (long long)(mean < 0 ? mean - 0.5L : mean + 0.5L);
}
