;; NormScope's WebAssembly SIMD kernels: float32 data in, float32 data out, every statistic and every output
;; computed in float64 (f64x2 lanes) and rounded once on store, following the TypeScript kernels in
;; src/engine/ops: shifted float64 sums, the same SHIFT_TRUST test and second pass about the float32 next to
;; the mean, the mean kept as the pair k + dm so that x - k is exact. Differences, all in float64's last bits:
;; - four lane-pair accumulators sum in another order; 1/n is multiplied instead of n divided;
;; - the first shift is 0 (no subtraction in the sums) while the rows so far were centred within 4 standard
;;   deviations of zero, else the row's first value; an untrusted shift gets the second pass either way;
;; - the output is (x - k) * a + (b - dm * a), i.e. x * a + (b - mean * a) when k = 0, which is accurate to
;;   ~1e-15 absolute when |mean * a| <= 4 (the trust test guarantees it), instead of ((x - k) - dm) * a + b.
;; Measured against float64 references: correctly rounded like the TypeScript kernels (test/unit/ops.test.ts).
;;
;; Compiled at build time by scripts/build.mjs with the `wabt` npm package (SIMD + threads) into dist/kernels.wasm.
;; Memory is imported and shared, so worker threads run the same kernels on the same tensors: every exported
;; kernel takes a range of rows (or samples) and touches only their outputs. Addresses are byte offsets into
;; that memory and compared unsigned; float64 parameter arrays (weight, bias, per-channel values) are 8-byte
;; elements, stats outputs are (mean, var) pairs of float64 per row.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; results of $sums / $moments (per instance, hence per thread)
  (global $sd (mut f64) (f64.const 0))
  (global $sq (mut f64) (f64.const 0))
  (global $k (mut f64) (f64.const 0))
  (global $dm (mut f64) (f64.const 0))
  (global $var (mut f64) (f64.const 0))
  (global $plain (mut i32) (i32.const 1))

  ;; $sd = sum (x - k), $sq = sum (x - k)^2 over n float32 at p.
  (func $sums (param $p i32) (param $n i32) (param $k f64)
    (local $end i32) (local $e8 i32) (local $K v128) (local $v v128) (local $a v128) (local $b v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $s f64) (local $q f64) (local $t f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e8 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $K (f64x2.splat (local.get $k)))
    (if (f64.eq (local.get $k) (f64.const 0))
      (then
        (block $out0
          (loop $l0
            (br_if $out0 (i32.ge_u (local.get $p) (local.get $e8)))
            (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
            (local.set $b (f64x2.promote_low_f32x4
              (v128.load64_zero offset=8 (local.get $p))))
            (local.set $d0 (f64x2.add (local.get $d0) (local.get $a)))
            (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $a) (local.get $a))))
            (local.set $d1 (f64x2.add (local.get $d1) (local.get $b)))
            (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $b) (local.get $b))))
            (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))))
            (local.set $b (f64x2.promote_low_f32x4
              (v128.load64_zero offset=24 (local.get $p))))
            (local.set $d2 (f64x2.add (local.get $d2) (local.get $a)))
            (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $a) (local.get $a))))
            (local.set $d3 (f64x2.add (local.get $d3) (local.get $b)))
            (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $b) (local.get $b))))
            (local.set $p (i32.add (local.get $p) (i32.const 32)))
            (br $l0))))
      (else
        (block $out8
          (loop $l8
            (br_if $out8 (i32.ge_u (local.get $p) (local.get $e8)))
            (local.set $a (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))) (local.get $K)))
            (local.set $b (f64x2.sub (f64x2.promote_low_f32x4
              (v128.load64_zero offset=8 (local.get $p))) (local.get $K)))
            (local.set $d0 (f64x2.add (local.get $d0) (local.get $a)))
            (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $a) (local.get $a))))
            (local.set $d1 (f64x2.add (local.get $d1) (local.get $b)))
            (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $b) (local.get $b))))
            (local.set $a (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))) (local.get $K)))
            (local.set $b (f64x2.sub (f64x2.promote_low_f32x4
              (v128.load64_zero offset=24 (local.get $p))) (local.get $K)))
            (local.set $d2 (f64x2.add (local.get $d2) (local.get $a)))
            (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $a) (local.get $a))))
            (local.set $d3 (f64x2.add (local.get $d3) (local.get $b)))
            (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $b) (local.get $b))))
            (local.set $p (i32.add (local.get $p) (i32.const 32)))
            (br $l8)))))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $k)))
        (local.set $s (f64.add (local.get $s) (local.get $t)))
        (local.set $q (f64.add (local.get $q) (f64.mul (local.get $t) (local.get $t))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l1)))
    (local.set $d0 (f64x2.add (f64x2.add (local.get $d0) (local.get $d1)) (f64x2.add (local.get $d2) (local.get $d3))))
    (local.set $q0 (f64x2.add (f64x2.add (local.get $q0) (local.get $q1)) (f64x2.add (local.get $q2) (local.get $q3))))
    (global.set $sd (f64.add (local.get $s)
      (f64.add (f64x2.extract_lane 0 (local.get $d0)) (f64x2.extract_lane 1 (local.get $d0)))))
    (global.set $sq (f64.add (local.get $q)
      (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0))))))

  ;; sum x^2 over n float32 at p.
  (func $sumsq (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $e8 i32) (local $v v128) (local $a v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q f64) (local $t f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e8 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $out8
      (loop $l8
        (br_if $out8 (i32.ge_u (local.get $p) (local.get $e8)))
        (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $a) (local.get $a))))
        (local.set $a (f64x2.promote_low_f32x4
          (v128.load64_zero offset=8 (local.get $p))))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $a) (local.get $a))))
        (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $a) (local.get $a))))
        (local.set $a (f64x2.promote_low_f32x4
          (v128.load64_zero offset=24 (local.get $p))))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $a) (local.get $a))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $l8)))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
        (local.set $q (f64.add (local.get $q) (f64.mul (local.get $t) (local.get $t))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l1)))
    (local.set $q0 (f64x2.add (f64x2.add (local.get $q0) (local.get $q1)) (f64x2.add (local.get $q2) (local.get $q3))))
    (f64.add (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0)))))

;; $k, $dm, $var of n >= 1 float32 at p, as momentsRange in ops/common.ts: mean = k + dm (kept as a pair so
  ;; that x - k is exact), var biased, clamped at 0 (NaN becomes 0 as there). One pass of sums shifted by k, a
  ;; second pass about the float32 next to the mean when (mean - k)^2 > 16 var (SHIFT_TRUST). The first shift is
  ;; 0 while the rows so far had their mean within 4 standard deviations of zero (then the sums and the output
  ;; need no subtraction), else the row's first value, as in the TypeScript kernel.
  (func $moments (param $p i32) (param $n i32)
    (call $moments_seg (local.get $p) (local.get $n) (local.get $n)))

  ;; $moments whose shift-0 sums are taken segment by segment (seg divides n; GroupNorm's channels), each segment's
  ;; $sums added to the total: the arithmetic of $affine0_sums, so a row's moments are the same bits whether its
  ;; sums were fused into the previous row's writes or not.
  (func $moments_seg (param $p i32) (param $n i32) (param $seg i32)
    (local $k f64) (local $s f64) (local $q f64) (local $dm f64) (local $rn f64) (local $v f64) (local $i i32)
    (local.set $rn (f64.div (f64.const 1) (f64.convert_i32_u (local.get $n))))
    (local.set $k (if (result f64) (global.get $plain)
      (then (f64.const 0))
      (else (f64.promote_f32 (f32.load (local.get $p))))))
    (if (i32.and (f64.eq (local.get $k) (f64.const 0)) (i32.lt_u (local.get $seg) (local.get $n)))
      (then
        (block $segs_done
          (loop $segs
            (br_if $segs_done (i32.ge_u (local.get $i) (local.get $n)))
            (call $sums (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))) (local.get $seg) (f64.const 0))
            (local.set $s (f64.add (local.get $s) (global.get $sd)))
            (local.set $q (f64.add (local.get $q) (global.get $sq)))
            (local.set $i (i32.add (local.get $i) (local.get $seg)))
            (br $segs))))
      (else
        (call $sums (local.get $p) (local.get $n) (local.get $k))
        (local.set $s (global.get $sd))
        (local.set $q (global.get $sq))))
    (local.set $dm (f64.mul (local.get $s) (local.get $rn)))
    (if (i32.eqz (f64.le (f64.mul (local.get $dm) (local.get $dm))
          (f64.mul (f64.const 16) (f64.mul (f64.sub (local.get $q) (f64.mul (local.get $s) (local.get $dm))) (local.get $rn)))))
      (then
        (local.set $k (f64.promote_f32 (f32.demote_f64 (f64.add (local.get $k) (local.get $dm)))))
        (call $sums (local.get $p) (local.get $n) (local.get $k))
        (local.set $s (global.get $sd))
        (local.set $q (global.get $sq))
        (local.set $dm (f64.mul (local.get $s) (local.get $rn)))))
    (global.set $k (local.get $k))
    (global.set $dm (local.get $dm))
    (local.set $v (f64.mul (f64.sub (local.get $q) (f64.mul (f64.mul (local.get $s) (local.get $s)) (local.get $rn))) (local.get $rn)))
    (local.set $v (select (local.get $v) (f64.const 0) (f64.gt (local.get $v) (f64.const 0))))
    (global.set $var (local.get $v))
    (local.set $dm (f64.add (local.get $k) (local.get $dm)))
    (global.set $plain (f64.le (f64.mul (local.get $dm) (local.get $dm)) (f64.mul (f64.const 16) (local.get $v)))))

  ;; out = f32((x - k) * a + b) over n float32. With k the shift of the statistics (a float32, so x - k is exact)
  ;; and b = bias - dm * a this is ((x - k) - dm) * a + bias up to float64 rounding.
  (func $affine (param $x i32) (param $o i32) (param $n i32) (param $m f64) (param $a f64) (param $b f64)
    (local $end i32) (local $e8 i32) (local $M v128) (local $A v128) (local $B v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e8 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $M (f64x2.splat (local.get $m)))
    (local.set $A (f64x2.splat (local.get $a)))
    (local.set $B (f64x2.splat (local.get $b)))
    (if (f64.eq (local.get $m) (f64.const 0))
      (then
        (block $out0
          (loop $l0
            (br_if $out0 (i32.ge_u (local.get $x) (local.get $e8)))
            (v128.store64_lane 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=8 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=16 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $x))) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=24 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $x))) (local.get $A)) (local.get $B))))
            (local.set $x (i32.add (local.get $x) (i32.const 32)))
            (local.set $o (i32.add (local.get $o) (i32.const 32)))
            (br $l0))))
      (else
        (block $out8
          (loop $l8
            (br_if $out8 (i32.ge_u (local.get $x) (local.get $e8)))
            (v128.store64_lane 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))) (local.get $M)) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=8 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x)))
                (local.get $M)) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=16 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $x))) (local.get $M)) (local.get $A)) (local.get $B))))
            (v128.store64_lane offset=24 0 (local.get $o)
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $x)))
                (local.get $M)) (local.get $A)) (local.get $B))))
            (local.set $x (i32.add (local.get $x) (i32.const 32)))
            (local.set $o (i32.add (local.get $o) (i32.const 32)))
            (br $l8)))))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.mul (f64.sub
          (f64.promote_f32 (f32.load (local.get $x))) (local.get $m)) (local.get $a)) (local.get $b))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l1))))

  ;; out[j] = f32((((x[j] - k) - dm) * a) * w[j] + b[j]) over n float32 (layerNormImpl's expression); w, b float64
  ;; arrays of n.
  (func $affine_w (param $x i32) (param $o i32) (param $n i32) (param $m f64) (param $dm f64) (param $a f64) (param $w i32) (param $b i32)
    (local $end i32) (local $e4 i32) (local $M v128) (local $D v128) (local $A v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $M (f64x2.splat (local.get $m)))
    (local.set $D (f64x2.splat (local.get $dm)))
    (local.set $A (f64x2.splat (local.get $a)))
    (block $out4
      (loop $l4
        (br_if $out4 (i32.ge_u (local.get $x) (local.get $e4)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $o) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.mul (f64x2.sub (f64x2.sub
            (f64x2.promote_low_f32x4 (local.get $v)) (local.get $M)) (local.get $D)) (local.get $A)) (v128.load (local.get $w)))
            (v128.load (local.get $b))))
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.mul (f64x2.sub (f64x2.sub
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
            (local.get $M)) (local.get $D)) (local.get $A)) (v128.load offset=16 (local.get $w)))
            (v128.load offset=16 (local.get $b))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br $l4)))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.mul (f64.mul (f64.sub (f64.sub
          (f64.promote_f32 (f32.load (local.get $x))) (local.get $m)) (local.get $dm)) (local.get $a)) (f64.load (local.get $w)))
          (f64.load (local.get $b)))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $l1))))

  ;; out = f32(x * a) over n float32.
  (func $scale (param $x i32) (param $o i32) (param $n i32) (param $a f64)
    (local $end i32) (local $e4 i32) (local $A v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $A (f64x2.splat (local.get $a)))
    (block $out4
      (loop $l4
        (br_if $out4 (i32.ge_u (local.get $x) (local.get $e4)))
        (v128.store64_lane 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))) (local.get $A))))
        (v128.store64_lane offset=8 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4
            (v128.load64_zero offset=8 (local.get $x))) (local.get $A))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l4)))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $a))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l1))))

  ;; out[j] = f32((x[j] * a) * w[j]) over n float32; w a float64 array of n.
  (func $scale_w (param $x i32) (param $o i32) (param $n i32) (param $a f64) (param $w i32)
    (local $end i32) (local $e4 i32) (local $A v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $A (f64x2.splat (local.get $a)))
    (block $out4
      (loop $l4
        (br_if $out4 (i32.ge_u (local.get $x) (local.get $e4)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $o) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $A))
            (v128.load (local.get $w))))
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $A))
            (v128.load offset=16 (local.get $w))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (br $l4)))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.mul (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $a))
          (f64.load (local.get $w)))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 8)))
        (br $l1))))


  ;; $affine with shift 0 (out = f32(x * a + b) over n float32 at x) fused with the shift-0 sums of n float32 at y
  ;; (the next row): $sd += sum y, $sq += sum y^2, in $sums' order (four lane pairs over blocks of 8, the tail,
  ;; then one reduction). One loop reads the next row from memory while this row, in the cache, is written: the
  ;; sums' arithmetic hides behind the memory traffic of the write instead of taking a pass of its own.
  (func $affine0_sums (param $x i32) (param $o i32) (param $n i32) (param $a f64) (param $b f64) (param $y i32)
    (local $end i32) (local $e8 i32) (local $A v128) (local $B v128) (local $u v128) (local $w v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $s f64) (local $q f64) (local $t f64)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e8 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $A (f64x2.splat (local.get $a)))
    (local.set $B (f64x2.splat (local.get $b)))
    (block $out0
      (loop $l0
        (br_if $out0 (i32.ge_u (local.get $x) (local.get $e8)))
        (v128.store64_lane 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))) (local.get $A)) (local.get $B))))
        (v128.store64_lane offset=8 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (local.get $A)) (local.get $B))))
        (v128.store64_lane offset=16 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $x))) (local.get $A)) (local.get $B))))
        (v128.store64_lane offset=24 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $x))) (local.get $A)) (local.get $B))))
        (local.set $u (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $y))))
        (local.set $w (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $y))))
        (local.set $d0 (f64x2.add (local.get $d0) (local.get $u)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $u) (local.get $u))))
        (local.set $d1 (f64x2.add (local.get $d1) (local.get $w)))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $w) (local.get $w))))
        (local.set $u (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $y))))
        (local.set $w (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $y))))
        (local.set $d2 (f64x2.add (local.get $d2) (local.get $u)))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $u) (local.get $u))))
        (local.set $d3 (f64x2.add (local.get $d3) (local.get $w)))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $w) (local.get $w))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $o (i32.add (local.get $o) (i32.const 32)))
        (local.set $y (i32.add (local.get $y) (i32.const 32)))
        (br $l0)))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $a)) (local.get $b))))
        (local.set $t (f64.promote_f32 (f32.load (local.get $y))))
        (local.set $s (f64.add (local.get $s) (local.get $t)))
        (local.set $q (f64.add (local.get $q) (f64.mul (local.get $t) (local.get $t))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $l1)))
    (local.set $d0 (f64x2.add (f64x2.add (local.get $d0) (local.get $d1)) (f64x2.add (local.get $d2) (local.get $d3))))
    (local.set $q0 (f64x2.add (f64x2.add (local.get $q0) (local.get $q1)) (f64x2.add (local.get $q2) (local.get $q3))))
    (global.set $sd (f64.add (global.get $sd) (f64.add (local.get $s)
      (f64.add (f64x2.extract_lane 0 (local.get $d0)) (f64x2.extract_lane 1 (local.get $d0))))))
    (global.set $sq (f64.add (global.get $sq) (f64.add (local.get $q)
      (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0)))))))

  ;; 1 / sqrt(v + eps); with $batch, PyTorch's batch_norm rule: v == 0 and eps == 0 give 0.
  (func $invstd (param $v f64) (param $eps f64) (param $batch i32) (result f64)
    (if (result f64) (i32.and (local.get $batch)
          (i32.and (f64.eq (local.get $v) (f64.const 0)) (f64.eq (local.get $eps) (f64.const 0))))
      (then (f64.const 0))
      (else (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $v) (local.get $eps)))))))

  ;; GroupNorm / InstanceNorm over canonical (N, C, S) data seen as rows of cpg*S elements (row r = sample
  ;; r / G, group r % G): rows [r0, r1) get their mean and variance (into stats[r] when stats != 0) and are
  ;; normalized with per-channel scale inv * w[c] (w != 0) and shift b[c] (b != 0). With ai != 0 (then ao != 0)
  ;; the write pass adds the pass-1 statistics of input and output per channel to the accumulators at ai, ao.
  ;; Without, a row whose shift is 0 takes the next row's sums in its write loop ($affine0_sums, channel segment
  ;; by channel segment), and the next row's moments come from them as $moments' shift-0 branch would give them
  ;; (an untrusted shift goes through $moments); the job's first row, and rows after a shifted one, go through
  ;; $moments. Which rows fuse depends only on the rows of the job, and jobs are fixed (WORK_PARTS): the same
  ;; bits on any thread count.
  (func (export "group_f32") (param $x i32) (param $o i32) (param $r0 i32) (param $r1 i32) (param $G i32)
        (param $cpg i32) (param $S i32) (param $eps f64) (param $w i32) (param $b i32) (param $batch i32)
        (param $stats i32) (param $ai i32) (param $ao i32)
    (local $len i32) (local $row i32) (local $k i32) (local $c i32) (local $inv f64) (local $a f64) (local $off i32) (local $ch i32)
    (local $fuse i32) (local $rn f64) (local $s f64) (local $q f64) (local $dm f64) (local $v f64) (local $bb f64) (local $havenext i32)
    (local.set $len (i32.mul (local.get $cpg) (local.get $S)))
    (local.set $rn (f64.div (f64.const 1) (f64.convert_i32_u (local.get $len))))
    (global.set $plain (i32.const 1))
    (local.set $row (local.get $r0))
    (if (i32.lt_u (local.get $row) (local.get $r1)) (then
      (call $moments_seg (i32.add (local.get $x) (i32.shl (i32.mul (local.get $row) (local.get $len)) (i32.const 2))) (local.get $len) (local.get $S))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $r1)))
        (local.set $off (i32.shl (i32.mul (local.get $row) (local.get $len)) (i32.const 2)))
        (if (local.get $stats) (then
          (f64.store (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4)))
            (f64.add (global.get $k) (global.get $dm)))
          (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (global.get $var))))
        (local.set $inv (call $invstd (global.get $var) (local.get $eps) (local.get $batch)))
        (local.set $c (i32.mul (i32.rem_u (local.get $row) (local.get $G)) (local.get $cpg)))
        (local.set $havenext (i32.lt_u (i32.add (local.get $row) (i32.const 1)) (local.get $r1)))
        ;; the next row's shift-0 sums in this row's writes when this row's shift is 0 and no statistics accumulate
        (local.set $fuse (i32.and (local.get $havenext) (i32.and (i32.eqz (local.get $ai)) (f64.eq (global.get $k) (f64.const 0)))))
        (global.set $sd (f64.const 0))
        (global.set $sq (f64.const 0))
        (local.set $dm (global.get $dm))
        (local.set $k (i32.const 0))
        (block $chdone
          (loop $chans
            (br_if $chdone (i32.ge_u (local.get $k) (local.get $cpg)))
            (local.set $ch (i32.shl (i32.add (local.get $c) (local.get $k)) (i32.const 3)))
            (local.set $a (if (result f64) (local.get $w)
              (then (f64.mul (local.get $inv) (f64.load (i32.add (local.get $w) (local.get $ch)))))
              (else (local.get $inv))))
            (local.set $bb (f64.sub
              (if (result f64) (local.get $b) (then (f64.load (i32.add (local.get $b) (local.get $ch)))) (else (f64.const 0)))
              (f64.mul (local.get $dm) (local.get $a))))
            (if (local.get $ai)
              (then
                (call $affine_st
                  (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $S)
                  (global.get $k) (local.get $a) (local.get $bb))
                (call $acc_st (local.get $ai) (local.get $ao) (i32.shl (i32.mul (local.get $G) (local.get $cpg)) (i32.const 3))
                  (i32.add (local.get $c) (local.get $k)) (local.get $S)))
              (else (if (local.get $fuse)
                (then (call $affine0_sums
                  (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $S)
                  (local.get $a) (local.get $bb) (i32.add (local.get $x) (i32.add (local.get $off) (i32.shl (local.get $len) (i32.const 2))))))
                (else (call $affine
                  (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $S)
                  (global.get $k) (local.get $a) (local.get $bb))))))
            (local.set $off (i32.add (local.get $off) (i32.shl (local.get $S) (i32.const 2))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $chans)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (if (local.get $havenext) (then
          (if (local.get $fuse)
            (then
              ;; $moments' shift-0 branch on the fused sums; an untrusted shift takes $moments' second pass
              (local.set $s (global.get $sd))
              (local.set $q (global.get $sq))
              (local.set $dm (f64.mul (local.get $s) (local.get $rn)))
              (if (f64.le (f64.mul (local.get $dm) (local.get $dm))
                    (f64.mul (f64.const 16) (f64.mul (f64.sub (local.get $q) (f64.mul (local.get $s) (local.get $dm))) (local.get $rn))))
                (then
                  (local.set $v (f64.mul (f64.sub (local.get $q) (f64.mul (f64.mul (local.get $s) (local.get $s)) (local.get $rn))) (local.get $rn)))
                  (local.set $v (select (local.get $v) (f64.const 0) (f64.gt (local.get $v) (f64.const 0))))
                  (global.set $k (f64.const 0))
                  (global.set $dm (local.get $dm))
                  (global.set $var (local.get $v))
                  (global.set $plain (f64.le (f64.mul (local.get $dm) (local.get $dm)) (f64.mul (f64.const 16) (local.get $v)))))
                (else
                  (global.set $plain (i32.const 1))
                  (call $moments_seg (i32.add (local.get $x) (i32.shl (i32.mul (local.get $row) (local.get $len)) (i32.const 2))) (local.get $len) (local.get $S)))))
            (else
              (call $moments_seg (i32.add (local.get $x) (i32.shl (i32.mul (local.get $row) (local.get $len)) (i32.const 2))) (local.get $len) (local.get $S))))))
        (br $rows))))

  ;; LayerNorm without elementwise affine over rows [r0, r1) of K: the shift-0 sums and the output loops
  ;; written out in the row loop (no calls for rows centred within 4 standard deviations of zero; short rows
  ;; such as K = 56 are dominated by call overhead otherwise), the next row's sums taken before this row's
  ;; output; rows whose unshifted sums are not trusted go through $moments and $affine.
  (func $layer_plain (param $x i32) (param $o i32) (param $r0 i32) (param $r1 i32) (param $K i32)
        (param $eps f64) (param $stats i32) (param $ai i32) (param $ao i32) (param $C i32) (param $S i32)
    (local $pend i32) (local $row i32) (local $off i32) (local $p i32) (local $e i32) (local $e4 i32) (local $q i32)
    (local $rn f64) (local $s f64) (local $ss f64) (local $s2 f64) (local $ss2 f64) (local $t f64)
    (local $k f64) (local $dm f64) (local $v f64) (local $inv f64) (local $b f64) (local $general i32)
    (local $y v128) (local $a0 v128) (local $a1 v128) (local $q0 v128) (local $q1 v128) (local $A v128) (local $B v128)
    (if (i32.ge_u (local.get $r0) (local.get $r1)) (then (return)))
    (local.set $rn (f64.div (f64.const 1) (f64.convert_i32_u (local.get $K))))
    (local.set $row (local.get $r0))
    (local.set $pend (i32.mul (local.get $r0) (local.get $K)))
    (local.set $off (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 2)))
    (local.set $q (i32.add (local.get $x) (local.get $off)))
    (local.set $p (local.get $q))
      (local.set $e (i32.add (local.get $p) (i32.shl (local.get $K) (i32.const 2))))
      (local.set $e4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2))))
      (local.set $a0 (v128.const i64x2 0 0))
      (local.set $a1 (v128.const i64x2 0 0))
      (local.set $q0 (v128.const i64x2 0 0))
      (local.set $q1 (v128.const i64x2 0 0))
      (block $s4done
        (loop $s4
          (br_if $s4done (i32.ge_u (local.get $p) (local.get $e4)))
          (local.set $y (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
          (local.set $a0 (f64x2.add (local.get $a0) (local.get $y)))
          (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $y) (local.get $y))))
          (local.set $y (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))))
          (local.set $a1 (f64x2.add (local.get $a1) (local.get $y)))
          (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $y) (local.get $y))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $s4)))
      (local.set $a0 (f64x2.add (local.get $a0) (local.get $a1)))
      (local.set $q0 (f64x2.add (local.get $q0) (local.get $q1)))
      (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
      (local.set $ss (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0))))
      (block $s1done
        (loop $s1
          (br_if $s1done (i32.ge_u (local.get $p) (local.get $e)))
          (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
          (local.set $s (f64.add (local.get $s) (local.get $t)))
          (local.set $ss (f64.add (local.get $ss) (f64.mul (local.get $t) (local.get $t))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $s1)))
    (loop $rows
      (local.set $off (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 2)))
      ;; $general: the previous row was not centred, so this one goes straight to $moments (shifted sums);
      ;; a centred row switches back to the written-out loops for the next
      (local.set $dm (f64.mul (local.get $s) (local.get $rn)))
      (if (i32.and (i32.eqz (local.get $general)) (f64.le (f64.mul (local.get $dm) (local.get $dm))
            (f64.mul (f64.const 16) (f64.mul (f64.sub (local.get $ss) (f64.mul (local.get $s) (local.get $dm))) (local.get $rn)))))
        (then
          (local.set $k (f64.const 0))
          (local.set $v (f64.mul (f64.sub (local.get $ss) (f64.mul (f64.mul (local.get $s) (local.get $s)) (local.get $rn)))
            (local.get $rn)))
          (local.set $v (select (local.get $v) (f64.const 0) (f64.gt (local.get $v) (f64.const 0)))))
        (else
          (global.set $plain (i32.const 0))
          (call $moments (i32.add (local.get $x) (local.get $off)) (local.get $K))
          (local.set $k (global.get $k))
          (local.set $dm (global.get $dm))
          (local.set $v (global.get $var))
          (local.set $general (i32.eqz (global.get $plain)))))
      (if (local.get $stats) (then
        (f64.store (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (f64.add (local.get $k) (local.get $dm)))
        (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (local.get $v))))
      (local.set $inv (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $v) (local.get $eps)))))
      (local.set $b (f64.neg (f64.mul (local.get $dm) (local.get $inv))))
      ;; long rows whose shift is 0 take the next row's sums in this row's write loop (the next row streams in
      ;; from memory while this one, in the cache, is written), short ones in loops of their own (fewer calls)
      (if (i32.and (i32.ge_u (local.get $K) (i32.const 256))
            (i32.and (i32.and (i32.eqz (local.get $general)) (f64.eq (local.get $k) (f64.const 0)))
              (i32.lt_u (i32.add (local.get $row) (i32.const 1)) (local.get $r1))))
        (then
          (global.set $sd (f64.const 0))
          (global.set $sq (f64.const 0))
          (call $affine0_sums (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $K)
            (local.get $inv) (local.get $b) (i32.add (local.get $x) (i32.add (local.get $off) (i32.shl (local.get $K) (i32.const 2)))))
          (local.set $s2 (global.get $sd))
          (local.set $ss2 (global.get $sq)))
        (else
          ;; the next row's sums, independent of this row's output
          (if (i32.and (i32.eqz (local.get $general)) (i32.lt_u (i32.add (local.get $row) (i32.const 1)) (local.get $r1))) (then
            (local.set $q (i32.add (local.get $x) (i32.add (local.get $off) (i32.shl (local.get $K) (i32.const 2)))))
            (local.set $p (local.get $q))
          (local.set $e (i32.add (local.get $p) (i32.shl (local.get $K) (i32.const 2))))
          (local.set $e4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2))))
          (local.set $a0 (v128.const i64x2 0 0))
          (local.set $a1 (v128.const i64x2 0 0))
          (local.set $q0 (v128.const i64x2 0 0))
          (local.set $q1 (v128.const i64x2 0 0))
          (block $s4done
            (loop $s4
              (br_if $s4done (i32.ge_u (local.get $p) (local.get $e4)))
              (local.set $y (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
              (local.set $a0 (f64x2.add (local.get $a0) (local.get $y)))
              (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $y) (local.get $y))))
              (local.set $y (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))))
              (local.set $a1 (f64x2.add (local.get $a1) (local.get $y)))
              (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $y) (local.get $y))))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (br $s4)))
          (local.set $a0 (f64x2.add (local.get $a0) (local.get $a1)))
          (local.set $q0 (f64x2.add (local.get $q0) (local.get $q1)))
          (local.set $s2 (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
          (local.set $ss2 (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0))))
          (block $s1done
            (loop $s1
              (br_if $s1done (i32.ge_u (local.get $p) (local.get $e)))
              (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
              (local.set $s2 (f64.add (local.get $s2) (local.get $t)))
              (local.set $ss2 (f64.add (local.get $ss2) (f64.mul (local.get $t) (local.get $t))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (br $s1)))))
          (if (f64.eq (local.get $k) (f64.const 0))
            (then
              (local.set $A (f64x2.splat (local.get $inv)))
              (local.set $B (f64x2.splat (local.get $b)))
              (local.set $p (i32.add (local.get $x) (local.get $off)))
              (local.set $q (i32.add (local.get $o) (local.get $off)))
              (local.set $e (i32.add (local.get $p) (i32.shl (local.get $K) (i32.const 2))))
              (local.set $e4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2))))
              (block $w4done
                (loop $w4
                  (br_if $w4done (i32.ge_u (local.get $p) (local.get $e4)))
                  (v128.store64_lane 0 (local.get $q) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul
                    (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))) (local.get $A)) (local.get $B))))
                  (v128.store64_lane offset=8 0 (local.get $q) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul
                    (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))) (local.get $A)) (local.get $B))))
                  (local.set $p (i32.add (local.get $p) (i32.const 16)))
                  (local.set $q (i32.add (local.get $q) (i32.const 16)))
                  (br $w4)))
              (block $w1done
                (loop $w1
                  (br_if $w1done (i32.ge_u (local.get $p) (local.get $e)))
                  (f32.store (local.get $q) (f32.demote_f64 (f64.add (f64.mul
                    (f64.promote_f32 (f32.load (local.get $p))) (local.get $inv)) (local.get $b))))
                  (local.set $p (i32.add (local.get $p) (i32.const 4)))
                  (local.set $q (i32.add (local.get $q) (i32.const 4)))
                  (br $w1))))
            (else
              (call $affine (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off))
                (local.get $K) (local.get $k) (local.get $inv) (local.get $b))))))
      (if (local.get $ai) (then
        (local.set $pend (call $span_st (local.get $x) (local.get $o) (local.get $pend)
          (i32.mul (i32.add (local.get $row) (i32.const 1)) (local.get $K))
          (i32.eq (i32.add (local.get $row) (i32.const 1)) (local.get $r1))
          (local.get $C) (local.get $S) (local.get $ai) (local.get $ao)))))
      (local.set $s (local.get $s2))
      (local.set $ss (local.get $ss2))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $row) (local.get $r1)))))

    ;; LayerNorm over rows of K: rows [r0, r1) normalized by their own mean and variance; with w != 0 (then
  ;; b != 0 too: float64 arrays of K) elementwise ((x - mean) * inv) * w[j] + b[j], else (x - mean) * inv. With
  ;; ai != 0 (then ao != 0) the pass-1 statistics of input and output over their (outer, C, S) view are added to
  ;; the accumulators at ai and ao as rows are written (see $span_st).
  (func (export "layer_f32") (param $x i32) (param $o i32) (param $r0 i32) (param $r1 i32) (param $K i32)
        (param $eps f64) (param $w i32) (param $b i32) (param $stats i32) (param $ai i32) (param $ao i32) (param $C i32) (param $S i32)
    (local $row i32) (local $off i32) (local $inv f64) (local $k f64) (local $dm f64) (local $v f64) (local $pend i32)
    (if (i32.eqz (local.get $w)) (then
      (call $layer_plain (local.get $x) (local.get $o) (local.get $r0) (local.get $r1) (local.get $K) (local.get $eps)
        (local.get $stats) (local.get $ai) (local.get $ao) (local.get $C) (local.get $S))
      (return)))
    (global.set $plain (i32.const 1))
    (if (i32.ge_u (local.get $r0) (local.get $r1)) (then (return)))
    (local.set $row (local.get $r0))
    (local.set $pend (i32.mul (local.get $r0) (local.get $K)))
    (call $moments (i32.add (local.get $x) (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 2))) (local.get $K))
    ;; software-pipelined: the next row's statistics are taken before this row's output is written, so the
    ;; latency of this row's sqrt and division hides behind independent work (rows may be as short as 56)
    (loop $rows
      (local.set $off (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 2)))
      (local.set $k (global.get $k))
      (local.set $dm (global.get $dm))
      (local.set $v (global.get $var))
      (if (local.get $stats) (then
        (f64.store (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (f64.add (local.get $k) (local.get $dm)))
        (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (local.get $v))))
      (local.set $inv (call $invstd (local.get $v) (local.get $eps) (i32.const 0)))
      (if (i32.lt_u (i32.add (local.get $row) (i32.const 1)) (local.get $r1)) (then
        (call $moments (i32.add (local.get $x) (i32.add (local.get $off) (i32.shl (local.get $K) (i32.const 2)))) (local.get $K))))
      (if (local.get $w)
        (then (call $affine_w (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off))
          (local.get $K) (local.get $k) (local.get $dm) (local.get $inv) (local.get $w) (local.get $b)))
        (else (call $affine (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off))
          (local.get $K) (local.get $k) (local.get $inv) (f64.neg (f64.mul (local.get $dm) (local.get $inv))))))
      (if (local.get $ai) (then
        (local.set $pend (call $span_st (local.get $x) (local.get $o) (local.get $pend)
          (i32.mul (i32.add (local.get $row) (i32.const 1)) (local.get $K))
          (i32.eq (i32.add (local.get $row) (i32.const 1)) (local.get $r1))
          (local.get $C) (local.get $S) (local.get $ai) (local.get $ao)))))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $row) (local.get $r1)))))

  ;; RMSNorm over rows of K: inv = 1 / sqrt(sum x^2 / K + eps); out = (x * inv) * w[j] (w != 0) or x * inv.
  ;; stats[r] gets (mean square, 0). ai, ao, C, S as for layer_f32.
  (func (export "rms_f32") (param $x i32) (param $o i32) (param $r0 i32) (param $r1 i32) (param $K i32)
        (param $eps f64) (param $w i32) (param $stats i32) (param $ai i32) (param $ao i32) (param $C i32) (param $S i32)
    (local $row i32) (local $off i32) (local $ms f64) (local $inv f64) (local $pend i32)
    (local.set $row (local.get $r0))
    (local.set $pend (i32.mul (local.get $r0) (local.get $K)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $r1)))
        (local.set $off (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 2)))
        (local.set $ms (f64.div (call $sumsq (i32.add (local.get $x) (local.get $off)) (local.get $K))
          (f64.convert_i32_u (local.get $K))))
        (if (local.get $stats) (then
          (f64.store (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (local.get $ms))
          (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $row) (i32.const 4))) (f64.const 0))))
        (local.set $inv (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $ms) (local.get $eps)))))
        (if (local.get $w)
          (then (call $scale_w (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off))
            (local.get $K) (local.get $inv) (local.get $w)))
          (else (call $scale (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off))
            (local.get $K) (local.get $inv))))
        (if (local.get $ai) (then
          (local.set $pend (call $span_st (local.get $x) (local.get $o) (local.get $pend)
            (i32.mul (i32.add (local.get $row) (i32.const 1)) (local.get $K))
            (i32.eq (i32.add (local.get $row) (i32.const 1)) (local.get $r1))
            (local.get $C) (local.get $S) (local.get $ai) (local.get $ao)))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; BatchNorm statistics over canonical (N, C, S) data, samples [n0, n1): for every channel c whose
  ;; shift[c] is not NaN, sd[c] += sum (x - shift[c]) and sq[c] += sum (x - shift[c])^2 (float64 arrays of C).
  (func (export "bn_sums_f32") (param $x i32) (param $n0 i32) (param $n1 i32) (param $C i32) (param $S i32)
        (param $shift i32) (param $sd i32) (param $sq i32)
    (local $n i32) (local $c i32) (local $p i32) (local $k f64) (local $ch i32)
    (local.set $n (local.get $n0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $p (i32.add (local.get $x)
          (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (local.get $S)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $ch (i32.shl (local.get $c) (i32.const 3)))
            (local.set $k (f64.load (i32.add (local.get $shift) (local.get $ch))))
            (if (f64.eq (local.get $k) (local.get $k)) (then
              (call $sums (local.get $p) (local.get $S) (local.get $k))
              (f64.store (i32.add (local.get $sd) (local.get $ch))
                (f64.add (f64.load (i32.add (local.get $sd) (local.get $ch))) (global.get $sd)))
              (f64.store (i32.add (local.get $sq) (local.get $ch))
                (f64.add (f64.load (i32.add (local.get $sq) (local.get $ch))) (global.get $sq)))))
            (local.set $p (i32.add (local.get $p) (i32.shl (local.get $S) (i32.const 2))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $chans)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $samples))))

  ;; BatchNorm output over canonical (N, C, S) data, samples [n0, n1): out = (x - k[c]) * scale[c] + shift[c].
  ;; With ai != 0 (then ao != 0 too) the pass-1 statistics of the input and of the output per channel are added
  ;; to the accumulators at ai and ao (see stats1_f32).
  (func (export "bn_apply_f32") (param $x i32) (param $o i32) (param $n0 i32) (param $n1 i32) (param $C i32)
        (param $S i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $ai i32) (param $ao i32)
    (local $n i32) (local $c i32) (local $off i32) (local $ch i32)
    (local.set $n (local.get $n0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $off (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (local.get $S)) (i32.const 2)))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $ch (i32.shl (local.get $c) (i32.const 3)))
            (if (local.get $ai)
              (then
                (call $affine_st (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $S)
                  (f64.load (i32.add (local.get $mean) (local.get $ch)))
                  (f64.load (i32.add (local.get $scale) (local.get $ch)))
                  (f64.load (i32.add (local.get $shift) (local.get $ch))))
                (call $acc_st (local.get $ai) (local.get $ao) (i32.shl (local.get $C) (i32.const 3)) (local.get $c) (local.get $S)))
              (else
                (call $affine (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $o) (local.get $off)) (local.get $S)
                  (f64.load (i32.add (local.get $mean) (local.get $ch)))
                  (f64.load (i32.add (local.get $scale) (local.get $ch)))
                  (f64.load (i32.add (local.get $shift) (local.get $ch))))))
            (local.set $off (i32.add (local.get $off) (i32.shl (local.get $S) (i32.const 2))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $chans)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $samples))))

  ;; The memory floor the benchmark measures the kernels against (bench/bench.ts): n float32 copied from x to o
  ;; with memory.copy, one read and one write of the same bytes as an op's output pass.
  (func (export "copy_f32") (param $x i32) (param $o i32) (param $n i32)
    (memory.copy (local.get $o) (local.get $x) (i32.shl (local.get $n) (i32.const 2))))

  ;; ---- Statistics (stats.ts sideStats) over a C-order tensor viewed as (outer, C, inner) ----
  ;; One part's accumulators at $acc, for C channels: float64 arrays sum | min | max | nan | inf | m2 | comp
  ;; (7 * C * 8 bytes), then int32 histogram counts [C][copies][bins + 1] (copies = 4 or 1 per channel, summed by
  ;; the caller; slot `bins` takes non-finite values and is ignored). A job covers outer rows [o0, o1) and channels [c0, c1); jobs of one phase write separate
  ;; accumulators, merged by the caller. Exact where stats.ts is exact: min, max (compared as `v < min`), NaN,
  ;; Inf and histogram bins (the same float64 formula floor((v - lo) * scale), clamped); sums in another order.

  ;; results of $blk1 / $blk2
  (global $bs (mut f64) (f64.const 0))
  (global $bmin (mut f64) (f64.const 0))
  (global $bmax (mut f64) (f64.const 0))
  (global $bnan (mut i32) (i32.const 0))
  (global $bfin (mut i32) (i32.const 0))
  (global $bm2 (mut f64) (f64.const 0))
  (global $bcomp (mut f64) (f64.const 0))

  ;; Pass 1 of n float32 at p, one at a time (exact; also the path of blocks with a non-finite value): $bs = sum of
  ;; the finite values, $bmin/$bmax their min/max (+Inf/-Inf when none), $bnan the NaN count, $bfin the finite count.
  (func $scalar1 (param $p i32) (param $n i32)
    (local $end i32) (local $t f64) (local $s f64) (local $mn f64) (local $mx f64) (local $nan i32) (local $fin i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $mn (f64.const inf))
    (local.set $mx (f64.const -inf))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
        (if (f64.eq (f64.sub (local.get $t) (local.get $t)) (f64.const 0))
          (then
            (local.set $s (f64.add (local.get $s) (local.get $t)))
            (if (f64.lt (local.get $t) (local.get $mn)) (then (local.set $mn (local.get $t))))
            (if (f64.gt (local.get $t) (local.get $mx)) (then (local.set $mx (local.get $t))))
            (local.set $fin (i32.add (local.get $fin) (i32.const 1))))
          (else (if (f64.ne (local.get $t) (local.get $t)) (then (local.set $nan (i32.add (local.get $nan) (i32.const 1)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l1)))
    (global.set $bs (local.get $s))
    (global.set $bmin (local.get $mn))
    (global.set $bmax (local.get $mx))
    (global.set $bnan (local.get $nan))
    (global.set $bfin (local.get $fin)))

  ;; Pass 1 of n float32 at p whose first n4 (a multiple of 4) went through SIMD lanes that assumed finite values,
  ;; giving sum s, min mn, max mx and fin finite values: when fin = n4 they were all finite and the tail is added
  ;; one at a time; else the block is taken again one at a time ($scalar1). Results in $bs ... $bfin.
  (func $finish1 (param $p i32) (param $n i32) (param $n4 i32) (param $s f64) (param $mn f64) (param $mx f64) (param $fin i32)
    (if (i32.ne (local.get $fin) (local.get $n4)) (then
      (call $scalar1 (local.get $p) (local.get $n))
      (return)))
    (call $scalar1 (i32.add (local.get $p) (i32.shl (local.get $n4) (i32.const 2))) (i32.sub (local.get $n) (local.get $n4)))
    (global.set $bs (f64.add (local.get $s) (global.get $bs)))
    (if (f64.lt (global.get $bmin) (local.get $mn)) (then (local.set $mn (global.get $bmin))))
    (if (f64.gt (global.get $bmax) (local.get $mx)) (then (local.set $mx (global.get $bmax))))
    (global.set $bmin (local.get $mn))
    (global.set $bmax (local.get $mx))
    (global.set $bfin (i32.add (local.get $fin) (global.get $bfin))))

  ;; Pass 1 over n float32 at p (results as $scalar1's): four lanes at a time assuming finite values (min and max in
  ;; float32, exact; sums in float64), checked by the finite count.
  (func $blk1 (param $p i32) (param $n i32)
    (local $q i32) (local $e4 i32) (local $w v128) (local $Z v128)
    (local $is v128) (local $imn v128) (local $imx v128) (local $icf v128)
    (local.set $q (local.get $p))
    (local.set $e4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $imn (f32x4.splat (f32.const inf)))
    (local.set $imx (f32x4.splat (f32.const -inf)))
    (block $out4
      (loop $l4
        (br_if $out4 (i32.ge_u (local.get $q) (local.get $e4)))
        (local.set $w (v128.load (local.get $q)))
            (local.set $icf (i32x4.sub (local.get $icf) (f32x4.eq (f32x4.sub (local.get $w) (local.get $w)) (local.get $Z))))
            (local.set $imn (f32x4.pmin (local.get $imn) (local.get $w)))
            (local.set $imx (f32x4.pmax (local.get $imx) (local.get $w)))
            (local.set $is (f64x2.add (local.get $is) (f64x2.add (f64x2.promote_low_f32x4 (local.get $w)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $l4)))
    (call $finish1 (local.get $p) (local.get $n) (i32.and (local.get $n) (i32.const -4))
      (f64.add (f64x2.extract_lane 0 (local.get $is)) (f64x2.extract_lane 1 (local.get $is)))
      (call $min4 (local.get $imn)) (f64.neg (call $min4 (f32x4.neg (local.get $imx)))) (call $sum4 (local.get $icf))))

  ;; The least of four float32 lanes (no NaN), as float64.
  (func $min4 (param $v v128) (result f64)
    (local.set $v (f32x4.pmin (local.get $v) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (local.set $v (f32x4.pmin (local.get $v) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $v) (local.get $v))))
    (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v))))

  ;; The sum of four int32 lanes.
  (func $sum4 (param $v v128) (result i32)
    (i32.add (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))

  ;; Adds one block's pass-1 results (n elements: sum, min, max, NaN count, finite count) to channel c of the
  ;; accumulators at a (C8 = 8 C).
  (func $acc1 (param $a i32) (param $C8 i32) (param $c i32) (param $n i32)
        (param $s f64) (param $mn f64) (param $mx f64) (param $nan i32) (param $fin i32)
    (local $p i32)
    (local.set $p (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 3))))
    (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (local.get $s)))
    (local.set $p (i32.add (local.get $p) (local.get $C8)))
    (if (f64.lt (local.get $mn) (f64.load (local.get $p))) (then (f64.store (local.get $p) (local.get $mn))))
    (local.set $p (i32.add (local.get $p) (local.get $C8)))
    (if (f64.gt (local.get $mx) (f64.load (local.get $p))) (then (f64.store (local.get $p) (local.get $mx))))
    (local.set $p (i32.add (local.get $p) (local.get $C8)))
    (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.convert_i32_u (local.get $nan))))
    (local.set $p (i32.add (local.get $p) (local.get $C8)))
    (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
      (f64.convert_i32_u (i32.sub (i32.sub (local.get $n) (local.get $fin)) (local.get $nan))))))

  ;; $affine_st's results for channel c: its input's into the accumulators at ai, its output's into those at ao.
  (func $acc_st (param $ai i32) (param $ao i32) (param $C8 i32) (param $c i32) (param $n i32)
    (call $acc1 (local.get $ai) (local.get $C8) (local.get $c) (local.get $n)
      (global.get $bs) (global.get $bmin) (global.get $bmax) (global.get $bnan) (global.get $bfin))
    (call $acc1 (local.get $ao) (local.get $C8) (local.get $c) (local.get $n)
      (global.get $os) (global.get $omin) (global.get $omax) (global.get $onan) (global.get $ofin)))

  ;; LayerNorm / RMSNorm statistics (their rows run across the channels of the statistics' (outer, C, S) view, so the
  ;; write loop cannot take them per channel as $affine_st does): once a row's output is written, the elements
  ;; from pend (an element index: the first not yet counted) up to e1, the row's end, are taken by $blk1 on both
  ;; sides channel segment by channel segment while they are still in the cache, into the accumulators at ai (input)
  ;; and ao (output). A segment that goes on into the next row waits for it unless final (the job's last row).
  ;; Returns the new pend. Segments are taken in element order, as stats1_f32 takes them.
  (func $span_st (param $x i32) (param $o i32) (param $pend i32) (param $e1 i32) (param $final i32)
        (param $C i32) (param $S i32) (param $ai i32) (param $ao i32) (result i32)
    (local $seg i32) (local $n i32) (local $c i32) (local $C8 i32)
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (block $done
      (loop $segs
        (br_if $done (i32.ge_u (local.get $pend) (local.get $e1)))
        (local.set $seg (i32.mul (i32.add (i32.div_u (local.get $pend) (local.get $S)) (i32.const 1)) (local.get $S)))
        (if (i32.gt_u (local.get $seg) (local.get $e1)) (then
          (br_if $done (i32.eqz (local.get $final)))
          (local.set $seg (local.get $e1))))
        (local.set $n (i32.sub (local.get $seg) (local.get $pend)))
        (local.set $c (i32.rem_u (i32.div_u (local.get $pend) (local.get $S)) (local.get $C)))
        (call $blk1 (i32.add (local.get $x) (i32.shl (local.get $pend) (i32.const 2))) (local.get $n))
        (call $acc1 (local.get $ai) (local.get $C8) (local.get $c) (local.get $n)
          (global.get $bs) (global.get $bmin) (global.get $bmax) (global.get $bnan) (global.get $bfin))
        (call $blk1 (i32.add (local.get $o) (i32.shl (local.get $pend) (i32.const 2))) (local.get $n))
        (call $acc1 (local.get $ao) (local.get $C8) (local.get $c) (local.get $n)
          (global.get $bs) (global.get $bmin) (global.get $bmax) (global.get $bnan) (global.get $bfin))
        (local.set $pend (local.get $seg))
        (br $segs)))
    (local.get $pend))

  ;; results of $affine_st for its output (its input's go to $bs, $bmin, $bmax, $bnan, $bfin as from $blk1)
  (global $os (mut f64) (f64.const 0))
  (global $omin (mut f64) (f64.const 0))
  (global $omax (mut f64) (f64.const 0))
  (global $onan (mut i32) (i32.const 0))
  (global $ofin (mut i32) (i32.const 0))

  ;; $affine (the same output, bit for bit) plus pass 1 of the statistics of its input (as $blk1 gives them) and of
  ;; its float32 output (into $os, $omin, $omax, $onan, $ofin): the write pass reads every input and produces every
  ;; output element, so neither side needs a pass of its own for sum, min, max, NaN and Inf.
  (func $affine_st (param $x i32) (param $o i32) (param $n i32) (param $m f64) (param $a f64) (param $b f64)
    (local $x0 i32) (local $o0 i32) (local $n4 i32) (local $end i32) (local $e4 i32)
    (local $M v128) (local $A v128) (local $B v128) (local $Z v128) (local $w v128) (local $y v128) (local $v0 v128) (local $v1 v128)
    (local $is v128) (local $imn v128) (local $imx v128) (local $icf v128)
    (local $os v128) (local $omn v128) (local $omx v128) (local $ocf v128)
    (local.set $x0 (local.get $x))
    (local.set $o0 (local.get $o))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $x) (i32.shl (local.get $n4) (i32.const 2))))
    (local.set $M (f64x2.splat (local.get $m)))
    (local.set $A (f64x2.splat (local.get $a)))
    (local.set $B (f64x2.splat (local.get $b)))
    (local.set $imn (f32x4.splat (f32.const inf)))
    (local.set $imx (f32x4.splat (f32.const -inf)))
    (local.set $omn (f32x4.splat (f32.const inf)))
    (local.set $omx (f32x4.splat (f32.const -inf)))
    (if (f64.eq (local.get $m) (f64.const 0))
      (then
        (block $out0
          (loop $l0
            (br_if $out0 (i32.ge_u (local.get $x) (local.get $e4)))
            (local.set $w (v128.load (local.get $x)))
            (local.set $v0 (f64x2.promote_low_f32x4 (local.get $w)))
            (local.set $v1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
            (local.set $y (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $v0) (local.get $A)) (local.get $B))) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $v1) (local.get $A)) (local.get $B)))))
            (v128.store (local.get $o) (local.get $y))
            (local.set $icf (i32x4.sub (local.get $icf) (f32x4.eq (f32x4.sub (local.get $w) (local.get $w)) (local.get $Z))))
            (local.set $imn (f32x4.pmin (local.get $imn) (local.get $w)))
            (local.set $imx (f32x4.pmax (local.get $imx) (local.get $w)))
            (local.set $is (f64x2.add (local.get $is) (f64x2.add (local.get $v0) (local.get $v1))))
            (local.set $ocf (i32x4.sub (local.get $ocf) (f32x4.eq (f32x4.sub (local.get $y) (local.get $y)) (local.get $Z))))
            (local.set $omn (f32x4.pmin (local.get $omn) (local.get $y)))
            (local.set $omx (f32x4.pmax (local.get $omx) (local.get $y)))
            (local.set $os (f64x2.add (local.get $os) (f64x2.add (f64x2.promote_low_f32x4 (local.get $y)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y) (local.get $y))))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $l0))))
      (else
        (block $out8
          (loop $l8
            (br_if $out8 (i32.ge_u (local.get $x) (local.get $e4)))
            (local.set $w (v128.load (local.get $x)))
            (local.set $v0 (f64x2.promote_low_f32x4 (local.get $w)))
            (local.set $v1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
            (local.set $y (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub (local.get $v0) (local.get $M)) (local.get $A)) (local.get $B))) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.sub (local.get $v1) (local.get $M)) (local.get $A)) (local.get $B)))))
            (v128.store (local.get $o) (local.get $y))
            (local.set $icf (i32x4.sub (local.get $icf) (f32x4.eq (f32x4.sub (local.get $w) (local.get $w)) (local.get $Z))))
            (local.set $imn (f32x4.pmin (local.get $imn) (local.get $w)))
            (local.set $imx (f32x4.pmax (local.get $imx) (local.get $w)))
            (local.set $is (f64x2.add (local.get $is) (f64x2.add (local.get $v0) (local.get $v1))))
            (local.set $ocf (i32x4.sub (local.get $ocf) (f32x4.eq (f32x4.sub (local.get $y) (local.get $y)) (local.get $Z))))
            (local.set $omn (f32x4.pmin (local.get $omn) (local.get $y)))
            (local.set $omx (f32x4.pmax (local.get $omx) (local.get $y)))
            (local.set $os (f64x2.add (local.get $os) (f64x2.add (f64x2.promote_low_f32x4 (local.get $y)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y) (local.get $y))))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $l8)))))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.mul (f64.sub
          (f64.promote_f32 (f32.load (local.get $x))) (local.get $m)) (local.get $a)) (local.get $b))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l1)))
    (call $finish1 (local.get $o0) (local.get $n) (local.get $n4)
      (f64.add (f64x2.extract_lane 0 (local.get $os)) (f64x2.extract_lane 1 (local.get $os)))
      (call $min4 (local.get $omn)) (f64.neg (call $min4 (f32x4.neg (local.get $omx)))) (call $sum4 (local.get $ocf)))
    (global.set $os (global.get $bs))
    (global.set $omin (global.get $bmin))
    (global.set $omax (global.get $bmax))
    (global.set $onan (global.get $bnan))
    (global.set $ofin (global.get $bfin))
    (call $finish1 (local.get $x0) (local.get $n) (local.get $n4)
      (f64.add (f64x2.extract_lane 0 (local.get $is)) (f64x2.extract_lane 1 (local.get $is)))
      (call $min4 (local.get $imn)) (f64.neg (call $min4 (f32x4.neg (local.get $imx)))) (call $sum4 (local.get $icf))))

  ;; Pass 2 over n float32 at p: $bm2 = sum (v - mean)^2 and $bcomp = sum (v - mean) over the finite values;
  ;; histogram counts incremented at b = floor((v - lo) * scale) clamped to [0, bins - 1] (slot bins for
  ;; non-finite values). h holds `copies` (4 or 1) copies of bins + 1 int32 counts: with 4, one per SIMD lane (no
  ;; lane waits for another's increment of the same bin); the caller adds them up. clean != 0: the values are known to be finite (pass 1
  ;; found no NaN or Inf in the channel), so the lanes need no mask.
  (func $blk2 (param $p i32) (param $n i32) (param $mean f64) (param $lo f64) (param $scale f64) (param $bins i32) (param $h i32)
        (param $clean i32) (param $copies i32)
    (local $end i32) (local $e4 i32) (local $w v128) (local $f v128) (local $v v128) (local $d v128) (local $Z v128)
    (local $M v128) (local $L v128) (local $S v128) (local $BM v128) (local $BN v128) (local $HO v128) (local $bi v128)
    (local $m2 v128) (local $cp v128) (local $t f64) (local $dd f64) (local $s2 f64) (local $sc f64) (local $b i32) (local $a i32)
    (local $hs i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $M (f64x2.splat (local.get $mean)))
    (local.set $L (f64x2.splat (local.get $lo)))
    (local.set $S (f64x2.splat (local.get $scale)))
    (local.set $BM (i32x4.splat (i32.sub (local.get $bins) (i32.const 1))))
    (local.set $BN (i32x4.splat (local.get $bins)))
    ;; byte offsets of the four copies: h + lane * (bins + 1) * 4 (all lanes at h when there is one copy)
    (local.set $hs (select (i32.shl (i32.add (local.get $bins) (i32.const 1)) (i32.const 2)) (i32.const 0)
      (i32.gt_u (local.get $copies) (i32.const 1))))
    (local.set $HO (i32x4.add (i32x4.splat (local.get $h))
      (i32x4.mul (i32x4.splat (local.get $hs)) (v128.const i32x4 0 1 2 3))))
    (if (local.get $clean)
      (then
        (block $outc
          (loop $lc
            (br_if $outc (i32.ge_u (local.get $p) (local.get $e4)))
            (local.set $w (v128.load (local.get $p)))
            ;; lanes 0, 1
            (local.set $v (f64x2.promote_low_f32x4 (local.get $w)))
            (local.set $d (f64x2.sub (local.get $v) (local.get $M)))
            (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $cp (f64x2.add (local.get $cp) (local.get $d)))
            (local.set $bi (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S))))
            ;; lanes 2, 3
            (local.set $v (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
            (local.set $d (f64x2.sub (local.get $v) (local.get $M)))
            (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $cp (f64x2.add (local.get $cp) (local.get $d)))
            (local.set $bi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $bi)
              (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S)))))
            ;; truncation is floor once clamped to [0, bins - 1]: they differ only below 0
            (local.set $bi (i32x4.max_s (i32x4.min_s (local.get $bi) (local.get $BM)) (local.get $Z)))
            (local.set $bi (i32x4.add (i32x4.shl (local.get $bi) (i32.const 2)) (local.get $HO)))
            (local.set $a (i32x4.extract_lane 0 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 1 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 2 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 3 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $lc))))
      (else
        (block $out4
          (loop $l4
            (br_if $out4 (i32.ge_u (local.get $p) (local.get $e4)))
            (local.set $w (v128.load (local.get $p)))
            (local.set $f (f32x4.eq (f32x4.sub (local.get $w) (local.get $w)) (local.get $Z)))
            ;; lanes 0, 1
            (local.set $v (f64x2.promote_low_f32x4 (local.get $w)))
            (local.set $d (v128.and (f64x2.sub (local.get $v) (local.get $M))
              (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (local.get $f) (local.get $f))))
            (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $cp (f64x2.add (local.get $cp) (local.get $d)))
            (local.set $bi (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S))))
            ;; lanes 2, 3
            (local.set $v (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
            (local.set $d (v128.and (f64x2.sub (local.get $v) (local.get $M))
              (i8x16.shuffle 8 9 10 11 8 9 10 11 12 13 14 15 12 13 14 15 (local.get $f) (local.get $f))))
            (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $cp (f64x2.add (local.get $cp) (local.get $d)))
            (local.set $bi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $bi)
              (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S)))))
            ;; truncation is floor once clamped to [0, bins - 1]: they differ only below 0
            (local.set $bi (i32x4.max_s (i32x4.min_s (local.get $bi) (local.get $BM)) (local.get $Z)))
            (local.set $bi (v128.bitselect (local.get $bi) (local.get $BN) (local.get $f)))
            (local.set $bi (i32x4.add (i32x4.shl (local.get $bi) (i32.const 2)) (local.get $HO)))
            (local.set $a (i32x4.extract_lane 0 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 1 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 2 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $a (i32x4.extract_lane 3 (local.get $bi)))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $l4)))))
    (local.set $s2 (f64.add (f64x2.extract_lane 0 (local.get $m2)) (f64x2.extract_lane 1 (local.get $m2))))
    (local.set $sc (f64.add (f64x2.extract_lane 0 (local.get $cp)) (f64x2.extract_lane 1 (local.get $cp))))
    (block $out1
      (loop $l1
        (br_if $out1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
        (if (f64.eq (f64.sub (local.get $t) (local.get $t)) (f64.const 0)) (then
          (local.set $dd (f64.sub (local.get $t) (local.get $mean)))
          (local.set $s2 (f64.add (local.get $s2) (f64.mul (local.get $dd) (local.get $dd))))
          (local.set $sc (f64.add (local.get $sc) (local.get $dd)))
          (local.set $b (i32.trunc_sat_f64_s (f64.floor (f64.mul (f64.sub (local.get $t) (local.get $lo)) (local.get $scale)))))
          (if (i32.ge_s (local.get $b) (local.get $bins)) (then (local.set $b (i32.sub (local.get $bins) (i32.const 1)))))
          (if (i32.lt_s (local.get $b) (i32.const 0)) (then (local.set $b (i32.const 0))))
          (local.set $a (i32.add (local.get $h) (i32.shl (local.get $b) (i32.const 2))))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l1)))
    (global.set $bm2 (local.get $s2))
    (global.set $bcomp (local.get $sc)))

  ;; Pass 1 of sideStats over x viewed as (outer, C, inner), rows [o0, o1), channels [c0, c1), into acc.
  (func (export "stats1_f32") (param $x i32) (param $o0 i32) (param $o1 i32) (param $c0 i32) (param $c1 i32)
        (param $C i32) (param $inner i32) (param $acc i32)
    (local $o i32) (local $c i32) (local $p i32) (local $C8 i32)
    (if (i32.eq (local.get $inner) (i32.const 1)) (then
      (call $cl1 (local.get $x) (local.get $o0) (local.get $o1) (local.get $c0) (local.get $c1) (local.get $C) (local.get $acc))
      (return)))
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (local.set $o (local.get $o0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $o1)))
        (local.set $c (local.get $c0))
        (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (local.get $o) (local.get $C)) (local.get $c))
          (local.get $inner)) (i32.const 2))))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
            (call $blk1 (local.get $p) (local.get $inner))
            (call $acc1 (local.get $acc) (local.get $C8) (local.get $c) (local.get $inner)
              (global.get $bs) (global.get $bmin) (global.get $bmax) (global.get $bnan) (global.get $bfin))
            (local.set $p (i32.add (local.get $p) (i32.shl (local.get $inner) (i32.const 2))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $chans)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows))))

  ;; Pass 2 of sideStats: squared deviations from means[c] (float64 array of 2 C: the means, then 1 for channels
  ;; without NaN or Inf, else 0) and histogram counts over the shared edges (lo, scale = bins / (hi - lo)), same view and ranges as stats1_f32.
  (func (export "stats2_f32") (param $x i32) (param $o0 i32) (param $o1 i32) (param $c0 i32) (param $c1 i32)
        (param $C i32) (param $inner i32) (param $lo f64) (param $scale f64) (param $bins i32) (param $means i32) (param $acc i32)
        (param $copies i32)
    (local $o i32) (local $c i32) (local $p i32) (local $C8 i32) (local $hb i32) (local $a i32)
    (if (i32.eq (local.get $inner) (i32.const 1)) (then
      (call $cl2 (local.get $x) (local.get $o0) (local.get $o1) (local.get $c0) (local.get $c1) (local.get $C)
        (local.get $lo) (local.get $scale) (local.get $bins) (local.get $means) (local.get $acc) (local.get $copies))
      (return)))
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (local.set $hb (i32.add (local.get $acc) (i32.mul (local.get $C8) (i32.const 7))))
    (local.set $o (local.get $o0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $o1)))
        (local.set $c (local.get $c0))
        (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (local.get $o) (local.get $C)) (local.get $c))
          (local.get $inner)) (i32.const 2))))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
            (call $blk2 (local.get $p) (local.get $inner)
              (f64.load (i32.add (local.get $means) (i32.shl (local.get $c) (i32.const 3))))
              (local.get $lo) (local.get $scale) (local.get $bins)
              (i32.add (local.get $hb) (i32.shl (i32.mul (i32.mul (local.get $c) (i32.add (local.get $bins) (i32.const 1))) (local.get $copies))
                (i32.const 2)))
              (f64.ne (f64.load (i32.add (local.get $means) (i32.shl (i32.add (local.get $c) (local.get $C)) (i32.const 3)))) (f64.const 0))
              (local.get $copies))
            (local.set $a (i32.add (i32.add (local.get $acc) (i32.mul (local.get $C8) (i32.const 5))) (i32.shl (local.get $c) (i32.const 3))))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (global.get $bm2)))
            (local.set $a (i32.add (local.get $a) (local.get $C8)))
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (global.get $bcomp)))
            (local.set $p (i32.add (local.get $p) (i32.shl (local.get $inner) (i32.const 2))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $chans)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows))))

  ;; stats1_f32 for inner = 1 (channels last): k consecutive channels of one row at p, accumulators of the first
  ;; at a (C8 = 8 C), one value at a time.
  (func $cl1s (param $p i32) (param $a i32) (param $k i32) (param $C8 i32)
    (local $end i32) (local $t f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $chans
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
        (if (f64.eq (f64.sub (local.get $t) (local.get $t)) (f64.const 0))
          (then
            (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (local.get $t)))
            (if (f64.lt (local.get $t) (f64.load (i32.add (local.get $a) (local.get $C8))))
              (then (f64.store (i32.add (local.get $a) (local.get $C8)) (local.get $t))))
            (if (f64.gt (local.get $t) (f64.load (i32.add (local.get $a) (i32.shl (local.get $C8) (i32.const 1)))))
              (then (f64.store (i32.add (local.get $a) (i32.shl (local.get $C8) (i32.const 1))) (local.get $t)))))
          (else
            (if (f64.ne (local.get $t) (local.get $t))
              (then (f64.store (i32.add (local.get $a) (i32.mul (local.get $C8) (i32.const 3)))
                (f64.add (f64.load (i32.add (local.get $a) (i32.mul (local.get $C8) (i32.const 3)))) (f64.const 1))))
              (else (f64.store (i32.add (local.get $a) (i32.shl (local.get $C8) (i32.const 2)))
                (f64.add (f64.load (i32.add (local.get $a) (i32.shl (local.get $C8) (i32.const 2)))) (f64.const 1)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (br $chans))))

  ;; stats1_f32 for inner = 1 (channels last): per row, four channels at a time while their values are finite
  ;; (the accumulators of neighbouring channels are neighbours), else one at a time.
  (func $cl1 (param $x i32) (param $o0 i32) (param $o1 i32) (param $c0 i32) (param $c1 i32) (param $C i32) (param $acc i32)
    (local $o i32) (local $c i32) (local $c4 i32) (local $p i32) (local $a i32) (local $C8 i32) (local $C16 i32)
    (local $w v128) (local $v v128) (local $Z v128)
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (local.set $C16 (i32.shl (local.get $C) (i32.const 4)))
    (local.set $c4 (i32.add (local.get $c0) (i32.and (i32.sub (local.get $c1) (local.get $c0)) (i32.const -4))))
    (local.set $o (local.get $o0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $o1)))
        (local.set $c (local.get $c0))
        (local.set $p (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $o) (local.get $C)) (local.get $c)) (i32.const 2))))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $c4)))
            (local.set $w (v128.load (local.get $p)))
            (if (i32x4.all_true (f32x4.eq (f32x4.sub (local.get $w) (local.get $w)) (local.get $Z)))
              (then
                (local.set $v (f64x2.promote_low_f32x4 (local.get $w)))
                (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $v)))
                (v128.store (i32.add (local.get $a) (local.get $C8))
                  (f64x2.pmin (v128.load (i32.add (local.get $a) (local.get $C8))) (local.get $v)))
                (v128.store (i32.add (local.get $a) (local.get $C16))
                  (f64x2.pmax (v128.load (i32.add (local.get $a) (local.get $C16))) (local.get $v)))
                (local.set $v (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
                (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a)) (local.get $v)))
                (v128.store offset=16 (i32.add (local.get $a) (local.get $C8))
                  (f64x2.pmin (v128.load offset=16 (i32.add (local.get $a) (local.get $C8))) (local.get $v)))
                (v128.store offset=16 (i32.add (local.get $a) (local.get $C16))
                  (f64x2.pmax (v128.load offset=16 (i32.add (local.get $a) (local.get $C16))) (local.get $v))))
              (else (call $cl1s (local.get $p) (local.get $a) (i32.const 4) (local.get $C8))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $a (i32.add (local.get $a) (i32.const 32)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $chans)))
        (call $cl1s (local.get $p) (local.get $a) (i32.sub (local.get $c1) (local.get $c4)) (local.get $C8))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows))))

  ;; stats2_f32 for inner = 1 (channels last): k consecutive channels from c of one row at p, one value at a time
  ;; (histogram copy 0 of each channel; HS bytes from one channel's histograms to the next).
  (func $cl2s (param $p i32) (param $c i32) (param $k i32) (param $C8 i32) (param $acc i32) (param $hb i32) (param $HS i32)
        (param $means i32) (param $lo f64) (param $scale f64) (param $bins i32)
    (local $end i32) (local $a i32) (local $b i32) (local $t f64) (local $d f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $chans
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f64.promote_f32 (f32.load (local.get $p))))
        (if (f64.eq (f64.sub (local.get $t) (local.get $t)) (f64.const 0)) (then
          (local.set $d (f64.sub (local.get $t) (f64.load (i32.add (local.get $means) (i32.shl (local.get $c) (i32.const 3))))))
          (local.set $a (i32.add (i32.add (local.get $acc) (i32.mul (local.get $C8) (i32.const 5))) (i32.shl (local.get $c) (i32.const 3))))
          (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.mul (local.get $d) (local.get $d))))
          (local.set $a (i32.add (local.get $a) (local.get $C8)))
          (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (local.get $d)))
          (local.set $b (i32.trunc_sat_f64_s (f64.floor (f64.mul (f64.sub (local.get $t) (local.get $lo)) (local.get $scale)))))
          (if (i32.ge_s (local.get $b) (local.get $bins)) (then (local.set $b (i32.sub (local.get $bins) (i32.const 1)))))
          (if (i32.lt_s (local.get $b) (i32.const 0)) (then (local.set $b (i32.const 0))))
          (local.set $a (i32.add (i32.add (local.get $hb) (i32.mul (local.get $c) (local.get $HS))) (i32.shl (local.get $b) (i32.const 2))))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $chans))))

  ;; stats2_f32 for inner = 1 (channels last): per row, four channels at a time when pass 1 found them all finite
  ;; (means[C + c] != 0), else one at a time.
  (func $cl2 (param $x i32) (param $o0 i32) (param $o1 i32) (param $c0 i32) (param $c1 i32) (param $C i32)
        (param $lo f64) (param $scale f64) (param $bins i32) (param $means i32) (param $acc i32) (param $copies i32)
    (local $o i32) (local $c i32) (local $c4 i32) (local $p i32) (local $C8 i32) (local $hb i32) (local $HS i32) (local $a i32)
    (local $w v128) (local $v v128) (local $d v128) (local $bi v128) (local $Z v128) (local $L v128) (local $S v128) (local $BM v128)
    (local $LH v128) (local $m2 i32) (local $cp i32)
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (local.set $hb (i32.add (local.get $acc) (i32.mul (local.get $C8) (i32.const 7))))
    (local.set $HS (i32.shl (i32.mul (i32.add (local.get $bins) (i32.const 1)) (local.get $copies)) (i32.const 2)))
    (local.set $c4 (i32.add (local.get $c0) (i32.and (i32.sub (local.get $c1) (local.get $c0)) (i32.const -4))))
    (local.set $L (f64x2.splat (local.get $lo)))
    (local.set $S (f64x2.splat (local.get $scale)))
    (local.set $BM (i32x4.splat (i32.sub (local.get $bins) (i32.const 1))))
    (local.set $LH (i32x4.mul (i32x4.splat (local.get $HS)) (v128.const i32x4 0 1 2 3)))
    (local.set $o (local.get $o0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $o) (local.get $o1)))
        (local.set $c (local.get $c0))
        (local.set $p (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $o) (local.get $C)) (local.get $c)) (i32.const 2))))
        (block $cdone
          (loop $chans
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $c4)))
            (if (i32.and
                  (i64x2.all_true (f64x2.ne (v128.load (i32.add (local.get $means) (i32.shl (i32.add (local.get $c) (local.get $C)) (i32.const 3))))
                    (local.get $Z)))
                  (i64x2.all_true (f64x2.ne (v128.load offset=16 (i32.add (local.get $means) (i32.shl (i32.add (local.get $c) (local.get $C)) (i32.const 3))))
                    (local.get $Z))))
              (then
                (local.set $w (v128.load (local.get $p)))
                (local.set $m2 (i32.add (i32.add (local.get $acc) (i32.mul (local.get $C8) (i32.const 5))) (i32.shl (local.get $c) (i32.const 3))))
                (local.set $cp (i32.add (local.get $m2) (local.get $C8)))
                ;; channels c, c + 1
                (local.set $v (f64x2.promote_low_f32x4 (local.get $w)))
                (local.set $d (f64x2.sub (local.get $v) (v128.load (i32.add (local.get $means) (i32.shl (local.get $c) (i32.const 3))))))
                (v128.store (local.get $m2) (f64x2.add (v128.load (local.get $m2)) (f64x2.mul (local.get $d) (local.get $d))))
                (v128.store (local.get $cp) (f64x2.add (v128.load (local.get $cp)) (local.get $d)))
                (local.set $bi (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S))))
                ;; channels c + 2, c + 3
                (local.set $v (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w))))
                (local.set $d (f64x2.sub (local.get $v) (v128.load offset=16 (i32.add (local.get $means) (i32.shl (local.get $c) (i32.const 3))))))
                (v128.store offset=16 (local.get $m2) (f64x2.add (v128.load offset=16 (local.get $m2)) (f64x2.mul (local.get $d) (local.get $d))))
                (v128.store offset=16 (local.get $cp) (f64x2.add (v128.load offset=16 (local.get $cp)) (local.get $d)))
                (local.set $bi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $bi)
                  (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (f64x2.sub (local.get $v) (local.get $L)) (local.get $S)))))
                ;; truncation is floor once clamped to [0, bins - 1]
                (local.set $bi (i32x4.max_s (i32x4.min_s (local.get $bi) (local.get $BM)) (local.get $Z)))
                (local.set $bi (i32x4.add (i32x4.add (i32x4.shl (local.get $bi) (i32.const 2)) (local.get $LH))
                  (i32x4.splat (i32.add (local.get $hb) (i32.mul (local.get $c) (local.get $HS))))))
                (local.set $a (i32x4.extract_lane 0 (local.get $bi)))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
                (local.set $a (i32x4.extract_lane 1 (local.get $bi)))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
                (local.set $a (i32x4.extract_lane 2 (local.get $bi)))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
                (local.set $a (i32x4.extract_lane 3 (local.get $bi)))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1))))
              (else
                (call $cl2s (local.get $p) (local.get $c) (i32.const 4) (local.get $C8) (local.get $acc) (local.get $hb) (local.get $HS)
                  (local.get $means) (local.get $lo) (local.get $scale) (local.get $bins))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $chans)))
        (call $cl2s (local.get $p) (local.get $c) (i32.sub (local.get $c1) (local.get $c4)) (local.get $C8) (local.get $acc) (local.get $hb)
          (local.get $HS) (local.get $means) (local.get $lo) (local.get $scale) (local.get $bins))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $rows))))
)
