/** `advood doctor`: which backend runs, why the others were skipped, versions, threads, memory limits. */
import type { CommandModule } from 'yargs';
import { initBackend } from '../runtime/backend.js';

interface DoctorArgs {
  backend: string;
  json: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Report the tensor backend in use, why others were skipped, versions, threads and heap limit',
  handler: async (args) => {
    const report = await initBackend({ request: args.backend });
    if (args.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
      return;
    }
    const lines = [`backend: ${report.chosen} (tfjs '${report.tfBackend}', chosen by ${report.source})`];
    for (const attempt of report.attempts) {
      lines.push(`  ${attempt.ok ? '✓' : '✗'} ${attempt.name}${attempt.ok ? '' : `: ${attempt.reason}`}`);
    }
    if (report.native) lines.push(`TensorFlow ${report.native.tensorflowVersion}, from ${report.native.origin}`);
    if (report.chosen === 'tensorflow-gpu') {
      lines.push(report.gpu ? `GPU ${report.gpu.index}: ${report.gpu.name}, ${(report.gpu.memoryBytes / 1024 ** 3).toFixed(1)} GiB` : 'GPU: not named (nvidia-smi absent or no visible device)');
      lines.push(`TF_FORCE_GPU_ALLOW_GROWTH=${process.env.TF_FORCE_GPU_ALLOW_GROWTH} (TensorFlow takes memory as tensors need it${process.env.TF_FORCE_GPU_ALLOW_GROWTH === 'true' ? '' : ': you set it otherwise'})`);
    }
    lines.push(`threads: ${report.threads === 0 ? 'backend default (all cores)' : report.threads}`);
    const limitOf = report.chosen === 'wasm' ? 'wasm32 heap' : report.chosen === 'tensorflow-gpu' ? 'device memory' : 'host memory';
    lines.push(`tensor memory limit: ${report.heapLimitBytes === null ? 'the device’s (TensorFlow reports exhaustion)' : `${(report.heapLimitBytes / 1024 ** 3).toFixed(0)} GiB (${limitOf})`}`);
    lines.push('versions:');
    for (const [name, version] of Object.entries(report.versions)) lines.push(`  ${name} ${version}`);
    process.stdout.write(lines.join('\n') + '\n');
  },
};
