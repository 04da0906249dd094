// Private to analytics: y[i] = a * y[i-1] + u[i], four steps at a time.
//
// EMA, the MACD lines and Wilder's averages are all this recurrence. Written one
// step at a time, each bar waits for the previous one's multiply and add, so the
// loop runs at the latency of the chain, not the throughput of the core (that is
// where TA-Lib spends its time). Unrolled by four,
//   y[i+j] = a^(j+1) * y[i-1] + c[j],   c[j] = sum_{m<=j} a^(j-m) * u[i+m],
// the c[j] do not depend on y and run in parallel, and the chain carries one
// multiply-add per four bars. The result differs from the step-by-step one only by
// rounding: |a| <= 1, so each rounding error decays with later steps.
#pragma once

namespace finlake::analytics::internal {

class LinearRecurrence4 {
 public:
  explicit LinearRecurrence4(double a) : a_(a), a2_(a * a), a3_(a * a * a), a4_(a * a * a * a) {}

  double a() const { return a_; }

  // Advances `y` by four steps with inputs u[0..3]; out[j] is y after step j.
  void Step(double& y, const double (&u)[4], double (&out)[4]) const {
    const double c1 = a_ * u[0] + u[1];
    const double c2 = a_ * c1 + u[2];
    const double c3 = a_ * c2 + u[3];
    out[0] = a_ * y + u[0];
    out[1] = a2_ * y + c1;
    out[2] = a3_ * y + c2;
    y = a4_ * y + c3;
    out[3] = y;
  }

 private:
  double a_;
  double a2_;
  double a3_;
  double a4_;
};

}  // namespace finlake::analytics::internal
