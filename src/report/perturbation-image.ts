/**
 * The amplified perturbation |adv − clean| of a gallery pair, computed from the two saved 8-bit PNGs with sharp.
 * Amplification: each image is scaled so its largest channel difference maps to 255 (a per-image stretch, so
 * even a 2/255 perturbation is visible); the factor is returned so the report can state it.
 */
import sharp from 'sharp';
import { UserError } from '../core/errors.js';

export interface AmplifiedPerturbation {
  png: Uint8Array;
  /** Largest |δ| over pixels and channels, in 8-bit levels. */
  maxAbs: number;
  /** Multiplier applied to |δ| (255 / maxAbs; 1 when δ = 0). */
  gain: number;
}

async function rgb(png: Uint8Array, what: string): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(png).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new UserError(`${what}: not a decodable image (${error instanceof Error ? error.message : String(error)})`);
  }
}

export async function amplifiedPerturbation(cleanPng: Uint8Array, adversarialPng: Uint8Array, what: string): Promise<AmplifiedPerturbation> {
  const clean = await rgb(cleanPng, `${what} (clean image)`);
  const adv = await rgb(adversarialPng, `${what} (adversarial image)`);
  if (clean.width !== adv.width || clean.height !== adv.height) {
    throw new UserError(`${what}: clean image is ${clean.width}×${clean.height} but the adversarial one is ${adv.width}×${adv.height}`);
  }
  const diff = Buffer.alloc(clean.data.length);
  let maxAbs = 0;
  for (let i = 0; i < diff.length; i++) maxAbs = Math.max(maxAbs, Math.abs(adv.data[i]! - clean.data[i]!));
  const gain = maxAbs === 0 ? 1 : 255 / maxAbs;
  for (let i = 0; i < diff.length; i++) diff[i] = Math.round(Math.abs(adv.data[i]! - clean.data[i]!) * gain);
  const png = await sharp(diff, { raw: { width: clean.width, height: clean.height, channels: 3 } }).png().toBuffer();
  return { png: new Uint8Array(png), maxAbs, gain };
}
