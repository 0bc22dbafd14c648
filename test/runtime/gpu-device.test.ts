/**
 * The tfjs-node-gpu route, as far as a machine without a GPU can check it: nvidia-smi's CSV read into the
 * device TensorFlow will use, the memory growth default that leaves a user's own setting alone, and the device's
 * memory as the limit the loading guard holds a target to.
 */
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import { type BackendLoader, initBackend } from '../../src/runtime/backend.js';
import { firstVisibleGpu, parseNvidiaSmiGpus } from '../../src/runtime/gpu-device.js';
import { applyGpuTensorflowEnv } from '../../src/runtime/native-env.js';

delete process.env.ADVOOD_BACKEND;

// `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` on a two-GPU machine.
const TWO_GPUS = '0, NVIDIA H200, 143771\n1, NVIDIA A100-SXM4-40GB, 40960\n';

test('nvidia-smi rows become devices; CUDA_VISIBLE_DEVICES picks the first visible one', (t) => {
  const gpus = parseNvidiaSmiGpus(TWO_GPUS + 'No devices were found\n');
  t.deepEqual(
    gpus.map((g) => [g.index, g.name, g.memoryBytes]),
    [
      [0, 'NVIDIA H200', 143771 * 1024 ** 2],
      [1, 'NVIDIA A100-SXM4-40GB', 40960 * 1024 ** 2],
    ],
  );
  t.is(firstVisibleGpu(gpus, undefined)?.index, 0);
  t.is(firstVisibleGpu(gpus, '1,0')?.name, 'NVIDIA A100-SXM4-40GB');
  t.is(firstVisibleGpu(gpus, '-1'), null, 'CUDA hides every GPU');
  t.is(firstVisibleGpu(gpus, '7'), null, 'no such GPU');
  t.is(firstVisibleGpu(gpus, 'GPU-5f2c…')?.index, 0, 'a UUID is not resolved: the first GPU stands in');
  t.deepEqual(parseNvidiaSmiGpus(''), []);
});

test('TF_FORCE_GPU_ALLOW_GROWTH is set to true unless the user set it', (t) => {
  const env: NodeJS.ProcessEnv = {};
  applyGpuTensorflowEnv(env);
  t.is(env.TF_FORCE_GPU_ALLOW_GROWTH, 'true');
  const own: NodeJS.ProcessEnv = { TF_FORCE_GPU_ALLOW_GROWTH: 'false' };
  applyGpuTensorflowEnv(own);
  t.is(own.TF_FORCE_GPU_ALLOW_GROWTH, 'false');
});

test("on tensorflow-gpu the device's memory bounds what a target may need, named in the refusal", async (t) => {
  const [gpu] = parseNvidiaSmiGpus('0, Tiny GPU, 1024\n');
  // A loader that stands in for tfjs-node-gpu: it reports the device as the real loader does from nvidia-smi.
  const fakeGpu: BackendLoader = { name: 'tensorflow-gpu', load: async () => ({ threads: 0, gpu }) };
  const backend = await initBackend({ loaders: [fakeGpu] });
  t.is(backend.heapLimitBytes, 1024 ** 3);
  t.is(backend.gpu?.name, 'Tiny GPU');
  const error = await t.throwsAsync(createEncoder('vit-g', { backend }), { instanceOf: UserError });
  t.regex(error!.message, /^target 'vit-g' needs about [\d.]+ GiB of tensor memory for input gradients, more than the 1\.0 GiB of GPU 0 \(Tiny GPU\)\. Choose a GPU with more memory/);
});
