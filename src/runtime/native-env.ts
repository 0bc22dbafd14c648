/**
 * Environment for a quiet, fast libtensorflow. TensorFlow reads these once, when the library loads, so they are
 * set before the tfjs-node import; a value the user set wins.
 *
 * - TF_CPP_MIN_LOG_LEVEL=2 drops TensorFlow's INFO/WARNING start-up lines (the CPU-feature notice).
 * - oneDNN stays on: it made the ViT-B/32 attack step (batch 8, 1 thread) 1.7× faster than
 *   TF_ENABLE_ONEDNN_OPTS=0 (150 against 252–274 ms/img, bench/attack-step.ts). Its notice is printed by absl
 *   before any log level applies; src/runtime/quiet-stderr.ts keeps it from the user instead.
 */
export const QUIET_TENSORFLOW_ENV: Readonly<Record<string, string>> = {
  TF_CPP_MIN_LOG_LEVEL: '2',
};

export function applyQuietTensorflowEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(QUIET_TENSORFLOW_ENV)) env[name] ??= value;
}

/**
 * For tfjs-node-gpu: TensorFlow otherwise reserves nearly all GPU memory when it starts (tfjs issue #2611), which
 * leaves nothing for a second process or for PyTorch beside it; with growth it takes what the tensors need.
 */
export const GPU_TENSORFLOW_ENV: Readonly<Record<string, string>> = {
  TF_FORCE_GPU_ALLOW_GROWTH: 'true',
};

export function applyGpuTensorflowEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(GPU_TENSORFLOW_ENV)) env[name] ??= value;
}
