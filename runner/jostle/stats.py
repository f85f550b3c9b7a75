"""Flake statistics over runs (one run = one harness process), in standard-library code.

A run is the unit: k failing runs out of n. Runs of one instance are treated as independent
Bernoulli trials, which is optimistic (runs on one loaded machine are correlated), so the
numbers describe what was observed here, not a property of the code everywhere.
"""

import math
from statistics import NormalDist


def _z(confidence):
    """Two-sided normal quantile for `confidence` (1.96 at 95%)."""
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(k, n, confidence=0.95):
    """Wilson score interval for k failures in n runs; (0.0, 1.0) when n is 0. Used for display."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At the edges the formula leaves rounding noise (1e-19 for 0/n); the true limits are exact.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def _binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p), summed in log space so that large n does not overflow."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k + 1):
        log_term = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        total += math.exp(log_term)
    return min(1.0, total)


def upper_bound(k, n, confidence=0.95):
    """Exact one-sided (Clopper-Pearson) upper bound on the failure rate after k failures in n runs.

    With k = 0 this is 1 - (1 - confidence)^(1/n), about 3/n at 95% (the rule of three).
    """
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    alpha = 1 - confidence
    if k == 0:
        return 1 - alpha ** (1 / n)
    lo, hi = k / n, 1.0
    # The CDF falls monotonically in p; bisect to well below display precision.
    for _ in range(100):
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def runs_needed(target_rate, confidence=0.95):
    """Clean runs needed to claim rate < target_rate at `confidence` (299 for 1% at 95%)."""
    if not 0 < target_rate < 1:
        raise ValueError("target rate must be between 0 and 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return math.ceil(math.log(1 - confidence) / math.log1p(-target_rate))


class Sprt:
    """Wald's sequential probability ratio test of H0: p = p0 against H1: p = p1 (p0 < p1).

    `stress --sprt` uses p1 = the target rate and p0 = a tenth of it, with alpha = beta =
    1 - confidence: accepting H0 means "below target", accepting H1 means "flaky above target".
    """

    def __init__(self, p0, p1, alpha=0.05, beta=0.05):
        if not 0 < p0 < p1 < 1:
            raise ValueError("SPRT needs 0 < p0 < p1 < 1")
        self.fail_step = math.log(p1 / p0)
        self.pass_step = math.log((1 - p1) / (1 - p0))
        self.upper = math.log((1 - beta) / alpha)
        self.lower = math.log(beta / (1 - alpha))
        self.llr = 0.0

    @classmethod
    def for_target(cls, target_rate, confidence=0.95):
        return cls(target_rate / 10, target_rate, 1 - confidence, 1 - confidence)

    def update(self, failed):
        """Add one run; returns the decision so far."""
        self.llr += self.fail_step if failed else self.pass_step
        return self.decision()

    def decision(self):
        """'below' (H0 accepted), 'above' (H1 accepted) or None (keep sampling)."""
        if self.llr >= self.upper:
            return "above"
        if self.llr <= self.lower:
            return "below"
        return None


_GRADE_RANK = {"ACCEPTABLE": 0, "INTERESTING": 1, "FORBIDDEN": 2}


def merge_outcomes(histograms):
    """Sum outcome histograms ({key: {count, grade, desc}}) over runs; the most severe grade wins."""
    merged = {}
    for histogram in histograms:
        for key, entry in (histogram or {}).items():
            count = int(entry.get("count", 0))
            grade = entry.get("grade", "FORBIDDEN")
            slot = merged.setdefault(key, {"count": 0, "grade": grade, "desc": entry.get("desc", "")})
            slot["count"] += count
            if _GRADE_RANK.get(grade, 2) > _GRADE_RANK.get(slot["grade"], 2):
                slot["grade"] = grade
            if not slot["desc"]:
                slot["desc"] = entry.get("desc", "")
    return merged


def merge_metrics(metric_maps):
    """Combine metric summaries ({name: {n, min, max, sum, unit}}) over runs."""
    merged = {}
    for metrics in metric_maps:
        for name, m in (metrics or {}).items():
            slot = merged.get(name)
            if slot is None:
                merged[name] = {"n": m.get("n", 0), "min": m.get("min"), "max": m.get("max"),
                                "sum": m.get("sum", 0), "unit": m.get("unit", "")}
                continue
            slot["n"] += m.get("n", 0)
            slot["sum"] += m.get("sum", 0)
            for key, pick in (("min", min), ("max", max)):
                values = [v for v in (slot[key], m.get(key)) if v is not None]
                slot[key] = pick(values) if values else None
    return merged


def describe_rate(k, n, confidence=0.95):
    """One line for humans: '2/50 runs failed (4.0%, 95% CI 1.1-13.5%)' or '0/1000 runs failed (p < 0.30% at 95%)'."""
    pct = round(confidence * 100)
    if n == 0:
        return "no runs"
    if k == 0:
        return f"0/{n} runs failed (p < {format_rate(upper_bound(0, n, confidence))} at {pct}%)"
    lo, hi = wilson_interval(k, n, confidence)
    return f"{k}/{n} runs failed ({format_rate(k / n)}, {pct}% CI {format_rate(lo)}-{format_rate(hi)})"


def format_rate(p):
    """A rate as a percentage with enough digits to be meaningful for small rates."""
    pct = p * 100
    if pct == 0:
        return "0%"
    if pct >= 10:
        return f"{pct:.1f}%"
    if pct >= 0.1:
        return f"{pct:.2f}%"
    return f"{pct:.3g}%"


def _log_comb(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(k1, n1, k2, n2):
    """One-sided Fisher exact test: P-value that group 1 (k1 of n1 failing) fails more often than group 2.

    Conditioned on the k1 + k2 failures, the failures landing in group 1 are hypergeometric; the
    P-value is P(X >= k1). 3/500 against 2/5000 gives 0.0065; 2/200 against 0/5000 gives 0.0015.
    """
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError("need 0 <= k <= n in both groups")
    failures, total = k1 + k2, n1 + n2
    if total == 0 or k1 == 0:
        return 1.0
    denom = _log_comb(total, n1)
    p = 0.0
    for x in range(k1, min(failures, n1) + 1):
        p += math.exp(_log_comb(failures, x) + _log_comb(total - failures, n1 - x) - denom)
    return min(1.0, p)


def pct_sweep(schedules, max_depth=3):
    """What clean PCT runs rule out (Burckhardt et al. 2010): one PCT iteration with n threads, k steps and
    depth parameter d hits any given bug of depth <= d with probability >= 1 / (n * k**(d-1)).

    `schedules` are the `schedule` events of passing runs. Runs with a fallback (a stolen or forced token, a
    late start) ran partly outside the scheduler, so the bound does not hold for them: they are counted apart.
    Returns None without a usable run, else {"runs", "iterations", "fallback_runs", "n", "k",
    "depths": {D: probability that a bug of depth D would have shown}} with n, k the largest seen (the
    weakest bound).
    """
    # A run whose threads never reached a point (iterations 0: nothing was scheduled) rules nothing out.
    usable = [s for s in schedules if s and s.get("mode") == "pct" and (s.get("iterations") or 0) > 0]
    clean = [s for s in usable if not (s.get("steals") or s.get("forced") or s.get("late_starts"))]
    if not clean:
        return None if not usable else {"runs": 0, "iterations": 0, "fallback_runs": len(usable), "n": None,
                                        "k": None, "depths": {}}
    n = max(max(s.get("n_max") or 1, 1) for s in clean)
    k = max(max(s.get("steps_max") or 1, 1) for s in clean)
    depths = {}
    for depth in range(1, max_depth + 1):
        # Only runs whose own d reaches this depth carry the guarantee for it.
        its = sum(max(s.get("iterations") or 0, 0) for s in clean if (s.get("d") or 1) >= depth)
        if its == 0:
            continue
        p = 1.0 / (n * float(k) ** (depth - 1))
        # 1 - (1-p)^its, computed without cancellation for tiny p.
        depths[depth] = -math.expm1(its * math.log1p(-p)) if p < 1 else 1.0
    return {"runs": len(clean), "iterations": sum(s.get("iterations") or 0 for s in clean),
            "fallback_runs": len(usable) - len(clean), "n": n, "k": k, "depths": depths}


def describe_pct_sweep(sweep):
    """'PCT: 40 clean runs (800 iterations, n <= 5 threads, k <= 120 steps): a bug of depth 1 would have shown
    with p >= 100%, depth 2 >= 73%, depth 3 >= 1.1%' or None."""
    if not sweep:
        return None
    if not sweep["runs"]:
        return (f"PCT: {sweep['fallback_runs']} run(s), all with scheduler fallbacks: no depth guarantee")
    parts = [f"depth {d} >= {format_rate(p)}" for d, p in sorted(sweep["depths"].items())]
    extra = f"; {sweep['fallback_runs']} run(s) with fallbacks not counted" if sweep["fallback_runs"] else ""
    return (f"PCT: {sweep['runs']} clean run(s) ({sweep['iterations']} iterations, n <= {sweep['n']} threads, "
            f"k <= {sweep['k']} steps) without a failure: a bug of " + ", ".join(parts)
            + f" would have shown (per-iteration bound 1/(n*k^(d-1))){extra}")
