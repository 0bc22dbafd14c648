/** The flags that choose and load a target model, shared by every command that encodes images. */
import type { Options } from 'yargs';
import { targetPresetNames } from '../models/create-encoder.js';

export const TARGET_OPTIONS = {
  target: {
    type: 'string',
    default: 'mobilenet-v2',
    describe: `target model: a preset (${targetPresetNames().join(', ')}), a target config JSON or a checkpoint directory`,
  },
  weights: { type: 'string', describe: 'local weights directory for the target (else the HF cache, else a download)' },
  'input-size': { type: 'number', describe: 'input side in pixels, for targets whose size is free (mobilenet-v2; dinov2: a multiple of its patch size; siglip: at least its patch size)' },
} as const satisfies Record<string, Options>;
