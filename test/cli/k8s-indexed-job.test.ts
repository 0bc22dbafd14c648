/**
 * examples/k8s-generate-indexed-job.yaml is a valid batch/v1 Job (the schema of kubernetes-models, the Kubernetes
 * OpenAPI definitions compiled to ajv validators; it checks types and enums, not unknown keys) and keeps the
 * resume and lock story of the Slurm example: Indexed completions equal to --shard-count, a retry only once the
 * failed pod has terminated, node as PID 1 so SIGTERM reaches it, the part folder named by the index, and
 * advood's own reading of the pod's environment gives each index its part.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schedulerTask } from '../../src/core/output-lock.js';
import { resolveShard } from '../../src/release/write/shard-spec.js';

const file = join(import.meta.dirname, '..', '..', 'examples', 'k8s-generate-indexed-job.yaml');

type JobDoc = {
  kind: string;
  metadata: { name: string };
  spec: { completionMode: string; completions: number; parallelism: number; podReplacementPolicy?: string; template: { spec: { containers: { args: string[] }[] } } };
};

interface Validator {
  yaml: { load(text: string): unknown };
  Job: new (doc: unknown) => { validate(): void };
}
// Imported by name at run time: the type-check must pass on a checkout where they are not installed yet.
const [yamlModule, jobModule] = ['js-yaml', 'kubernetes-models/batch/v1/Job'];
const validator: Validator | Error = await Promise.all([import(yamlModule), import(jobModule)]).then(
  // js-yaml 3 is CommonJS: its functions are on the default export.
  ([yaml, job]) => ({ yaml: ((yaml as { default?: unknown }).default ?? yaml) as Validator['yaml'], Job: (job as { Job: Validator['Job'] }).Job }),
  (error: Error) => error,
);
const unavailable = validator instanceof Error ? `kubernetes-models or js-yaml is not installed (npm ci installs them): ${validator.message.split('\n')[0]}` : null;
if (unavailable) console.log(`# Kubernetes Job schema check skipped: ${unavailable}`);

(unavailable ? test.skip : test)(`the example is a valid batch/v1 Job${unavailable ? ` (skipped: ${unavailable})` : ''}`, (t) => {
  const { yaml, Job } = validator as Validator;
  const doc = yaml.load(readFileSync(file, 'utf8')) as JobDoc;
  t.notThrows(() => new Job(doc).validate());
  // The validator can fail: a wrong type or enum value is refused.
  t.throws(() => new Job({ ...doc, spec: { ...doc.spec, podReplacementPolicy: 'Sometimes' } }).validate(), { message: /podReplacementPolicy/ });
});

test('the example keeps the resume and lock story: one part per index, retried only after the pod ended, node as PID 1', (t) => {
  const text = readFileSync(file, 'utf8');
  const field = (name: string) => new RegExp(`^\\s+${name}: (\\S+)$`, 'm').exec(text)?.[1];
  const completions = Number(field('completions'));
  t.is(field('completionMode'), 'Indexed');
  t.is(field('podReplacementPolicy'), 'Failed', 'a retry starts only once the failed pod has terminated, so same index means the old pod is gone');
  const args = text.slice(text.indexOf('args:'), text.indexOf('env:'));
  t.regex(args, /exec node bin\/advood\.mjs generate/, 'node replaces the shell as PID 1, so SIGTERM reaches it');
  t.is(Number(/--shard-count (\d+)/.exec(args)?.[1]), completions, '--shard-count equals completions');
  t.regex(args, /--out \S+part-\$\(printf '%02d' "\$JOB_COMPLETION_INDEX"\)/);
  // Each index of the Job gets its own part; a retried pod (same host name <job>-<index>) is the same task.
  const parts = Array.from({ length: completions }, (_, index) => resolveShard(undefined, { JOB_COMPLETION_INDEX: String(index) }, completions));
  t.deepEqual(parts.map((p) => p.index), Array.from({ length: completions }, (_, i) => i));
  t.is(schedulerTask({ JOB_COMPLETION_INDEX: '3' }, 'advood-generate-3'), 'k8s:advood-generate-3#3');
});
