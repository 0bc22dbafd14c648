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
    lines.push(`threads: ${report.threads === 0 ? 'backend default (all cores)' : report.threads}`);
    lines.push(`tensor memory limit: ${report.heapLimitBytes === null ? 'the device’s (TensorFlow reports exhaustion)' : `${(report.heapLimitBytes / 1024 ** 3).toFixed(0)} GiB${report.chosen === 'wasm' ? ' (wasm32 heap)' : ' (host memory)'}`}`);
    lines.push('versions:');
    for (const [name, version] of Object.entries(report.versions)) lines.push(`  ${name} ${version}`);
    process.stdout.write(lines.join('\n') + '\n');
  },
};
