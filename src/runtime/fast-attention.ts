/**
 * The multi-head attention core softmax(q·kᵀ + mask)·v, sequence-first, with a hand-written gradient that stays
 * on wasm's fast paths.
 *
 * Layout. Tensors are [T, B, W] (token-major, open_clip's "LND"): with the heads split as [T, B·H, d], v, the
 * output and the gradients dq, dk, dv need only reshapes, and the remaining operands need one 4-D transpose
 * each. (5-D transposes are slow on wasm.)
 *
 * Products. All six (two forward, four backward) are groupedMatMul calls: a depthwise convolution on wasm,
 * ~5× faster than tfjs's batched matMul there (grouped-matmul.ts). The softmax gradient is written out as
 * dS = P ⊙ (dP − rowsum(dP ⊙ P)), so no tfjs gradient of depthwise conv (missing on wasm) is ever needed.
 *
 * ViT-B/32, batch 8, forward + input gradient on wasm (bench/profile-vit.ts): the attention products took 715 ms
 * (17 % of the step) as batched matMuls and take ~120 ms as depthwise convolutions.
 *
 * Native TensorFlow (and the other backends) take the head-major route instead: q, k, v and dy go to [B·H, T, d]
 * once each, and the six products are batched matMuls whose transposes are the kernel's own flags, so no [T, B·H, T]
 * score or probability tensor is ever transposed. Measured on this machine (2 threads, 96 heads of 197 × 64, the
 * attention of a ViT-B/16 at batch 8): one such transpose takes 7.6 ms, as long as the product that made it (5–8 ms),
 * and the wasm layout needs three per backward pass on top of the operand transposes of every product.
 */
import * as tf from '@tensorflow/tfjs';
import { groupedMatMul } from './grouped-matmul.js';

/**
 * @param q [Tq, B, H·d] queries, already scaled by 1/√d (callers fold the scale into the q projection)
 * @param k [Tk, B, H·d] keys; v the same shape as k
 * @param mask additive [Tq, Tk] (e.g. a causal mask with −∞ above the diagonal) or null
 * @returns [Tq, B, H·d], the heads merged
 */
export function multiHeadAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, mask: tf.Tensor2D | null): tf.Tensor3D {
  const [tq, batch, width] = q.shape;
  const tk = k.shape[0];
  if (k.shape[1] !== batch || k.shape[2] !== width || v.shape.join() !== k.shape.join()) {
    throw new Error(`multiHeadAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not agree`);
  }
  if (width % heads !== 0) throw new Error(`multiHeadAttention: width ${width} is not divisible by ${heads} heads`);
  if (mask && (mask.shape[0] !== tq || mask.shape[1] !== tk)) throw new Error(`multiHeadAttention: mask [${mask.shape}] for ${tq}×${tk} scores`);
  const d = width / heads;
  const groups = batch * heads;
  if (tf.getBackend() !== 'wasm') return headMajorAttention(q, k, v, mask, { tq, tk, batch, width, groups, d });
  /** [T, B, W] → [T, d, G]: the left operand of a product that contracts over d. */
  const contractLeft = (t: tf.Tensor, tokens: number) => tf.reshape(tf.transpose(tf.reshape(t, [tokens, batch, heads, d]), [0, 3, 1, 2]), [tokens, d, groups]) as tf.Tensor3D;
  /** [T, B, W] → [d, G, T]: the right operand of a product that contracts over d. */
  const contractRight = (t: tf.Tensor, tokens: number) => tf.reshape(tf.transpose(tf.reshape(t, [tokens, batch, heads, d]), [3, 1, 2, 0]), [d, groups, tokens]) as tf.Tensor3D;
  /** [T, B, W] → [T, G, d]: a right operand that contracts over tokens (a reshape only). */
  const byGroup = (t: tf.Tensor, tokens: number) => tf.reshape(t, [tokens, groups, d]) as tf.Tensor3D;
  const merged = (t: tf.Tensor, tokens: number) => tf.reshape(t, [tokens, batch, width]) as tf.Tensor3D;

  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qs, ks, vs] = args as tf.Tensor3D[];
    const save = args[3] as tf.GradSaveFunc;
    let scores = groupedMatMul(contractLeft(qs, tq), contractRight(ks, tk)); // [Tq, G, Tk]
    if (mask) scores = tf.add(scores, tf.reshape(mask, [tq, 1, tk]));
    const p = tf.softmax(scores); // over keys, the last axis
    save([qs, ks, vs, p]);
    const out = groupedMatMul(tf.transpose(p, [0, 2, 1]) as tf.Tensor3D, byGroup(vs, tk)); // [Tq, G, d]
    return {
      value: merged(out, tq),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const dp = groupedMatMul(contractLeft(dy, tq), contractRight(sv, tk)); // [Tq, G, Tk]
        const ds = tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true)));
        const dq = groupedMatMul(tf.transpose(ds, [0, 2, 1]) as tf.Tensor3D, byGroup(sk, tk)); // [Tq, G, d]
        const dsByKey = tf.transpose(ds, [2, 0, 1]) as tf.Tensor3D; // [Tk, Tq, G]
        const dk = groupedMatMul(dsByKey, byGroup(sq, tq)); // [Tk, G, d]
        const dv = groupedMatMul(tf.transpose(sp, [2, 0, 1]) as tf.Tensor3D, byGroup(dy, tq)); // [Tk, G, d]
        return [merged(dq, tq), merged(dk, tk), merged(dv, tk)];
      },
    };
  }) as unknown as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;
  return attend(q, k, v);
}

interface AttentionShape {
  tq: number;
  tk: number;
  batch: number;
  width: number;
  groups: number;
  d: number;
}

/** The head-major route (see the file comment): the same values and gradients, in [G, T, d] products. */
function headMajorAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, shape: AttentionShape): tf.Tensor3D {
  const { tq, tk, batch, width, groups, d } = shape;
  /** [T, B, W] → [G, T, d]. */
  const toHeads = (t: tf.Tensor, tokens: number) => tf.transpose(tf.reshape(t, [tokens, groups, d]), [1, 0, 2]) as tf.Tensor3D;
  /** [G, T, d] → [T, B, W]. */
  const fromHeads = (t: tf.Tensor, tokens: number) => tf.reshape(tf.transpose(t, [1, 0, 2]), [tokens, batch, width]) as tf.Tensor3D;
  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qs, ks, vs] = args as tf.Tensor3D[];
    const save = args[3] as tf.GradSaveFunc;
    const [qh, kh, vh] = [toHeads(qs, tq), toHeads(ks, tk), toHeads(vs, tk)];
    let scores = tf.matMul(qh, kh, false, true); // [G, Tq, Tk]
    if (mask) scores = tf.add(scores, tf.reshape(mask, [1, tq, tk]));
    const p = tf.softmax(scores);
    save([qh, kh, vh, p]);
    return {
      value: fromHeads(tf.matMul(p, vh), tq),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const dyh = toHeads(dy, tq);
        const dp = tf.matMul(dyh, sv, false, true); // [G, Tq, Tk]
        const ds = tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true)));
        return [fromHeads(tf.matMul(ds, sk), tq), fromHeads(tf.matMul(ds, sq, true, false), tk), fromHeads(tf.matMul(sp, dyh, true, false), tk)];
      },
    };
  }) as unknown as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;
  return attend(q, k, v);
}
