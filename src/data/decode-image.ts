/**
 * Decoding images into model-ready pixels, and encoding pixels as lossless PNG, with sharp (libvips).
 *
 * Whatever comes in (grey, grey+alpha, RGBA, CMYK, palette, 16-bit; JPEG, PNG, WebP, GIF first frame, TIFF
 * first page) leaves as 8-bit sRGB, then float32 HWC in [0,1] at model resolution, exactly as torchvision's
 * ToTensor sees a PIL image. Alpha is composited onto the stated background (PIL's convert('RGB') would just
 * drop it and expose whatever colour hides under transparent pixels). EXIF orientation is ignored, as in
 * open_clip's PIL pipeline.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { sha256Hex } from '../core/digest.js';
import { ItemError, errorMessage } from '../core/errors.js';
import type { DecodedImage, Preprocess } from './image-source.js';
import { clipGeometry } from './preprocess.js';

/**
 * Default decompression-bomb guard: 8192×8192 (67 MP), above any camera photo a user is likely to feed,
 * and 200 MB as 8-bit RGB. The header's dimensions are checked before any pixel is decoded.
 */
export const DEFAULT_MAX_PIXELS = 8192 * 8192;

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff']);

export interface DecodeOptions {
  /** Largest width×height accepted (default DEFAULT_MAX_PIXELS). */
  readonly maxPixels?: number;
}

/**
 * Decodes an encoded image (file bytes) and preprocesses it. `origin` names the file in errors.
 * Throws ItemError for empty, unreadable, unsupported, oversized or truncated input.
 */
export async function decodeImage(
  bytes: Uint8Array,
  origin: string,
  preprocess: Preprocess,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ItemError(origin, 'empty file (0 bytes)');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width: number;
  let height: number;
  try {
    // Header only: nothing is decoded yet, so a 30000×30000 bomb costs nothing here.
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
      throw new ItemError(origin, `unsupported image format '${meta.format}' (expected JPEG, PNG, WebP, GIF or TIFF)`);
    }
    width = meta.width;
    height = meta.pageHeight ?? meta.height;
  } catch (error) {
    if (error instanceof ItemError) throw error;
    throw new ItemError(origin, `not a readable image (${errorMessage(error)})`);
  }
  if (!(width > 0 && height > 0)) throw new ItemError(origin, `image header gives no size (${width}×${height})`);
  if (width * height > maxPixels) {
    throw new ItemError(
      origin,
      `image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels} (decompression-bomb guard)`,
    );
  }
  // failOn 'error': corrupt or truncated data fails; harmless warnings (e.g. extra bytes after JPEG EOI) pass.
  const image = sharp(input, { limitInputPixels: maxPixels, failOn: 'error', pages: 1, page: 0 });
  const pixels = await toModelPixels(image, height, width, origin, preprocess);
  return { ...pixels, sourceSha256: sha256Hex(bytes) };
}

/**
 * Preprocesses raw 8-bit pixels already in memory (IDX rows: grey 28×28). `sourceSha256` hashes those bytes.
 */
export async function decodeRawPixels(
  data: Uint8Array,
  shape: { readonly height: number; readonly width: number; readonly channels: 1 | 3 | 4 },
  origin: string,
  preprocess: Preprocess,
): Promise<DecodedImage> {
  const { height, width, channels } = shape;
  if (data.length !== height * width * channels) {
    throw new ItemError(origin, `expected ${height}×${width}×${channels} bytes, got ${data.length}`);
  }
  const image = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { height, width, channels } });
  const pixels = await toModelPixels(image, height, width, origin, preprocess);
  return { ...pixels, sourceSha256: sha256Hex(data) };
}

async function toModelPixels(
  image: Sharp,
  height: number,
  width: number,
  origin: string,
  preprocess: Preprocess,
): Promise<Omit<DecodedImage, 'sourceSha256'>> {
  const { size, background } = preprocess;
  const [r, g, b] = background;
  // flatten: composite alpha onto the background; toColourspace('srgb'): grey/CMYK/16-bit → 8-bit sRGB.
  let pipeline = image.flatten({ background: { r, g, b } }).toColourspace('srgb');
  if (preprocess.mode === 'exact') {
    if (height !== size || width !== size) {
      throw new ItemError(origin, `image is ${width}×${height}, but exact preprocessing needs ${size}×${size}`);
    }
  } else if (preprocess.mode === 'squash') {
    if (height !== size || width !== size) pipeline = pipeline.resize(size, size, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false });
  } else {
    const geometry = clipGeometry(height, width, size, preprocess.resize);
    if (geometry.resizedHeight !== height || geometry.resizedWidth !== width) {
      // 'cubic' is Catmull-Rom (a = -0.5), PIL's BICUBIC; libvips widens the kernel when shrinking
      // (antialiasing), as PIL does. No JPEG shrink-on-load: it would change the result.
      pipeline = pipeline.resize(geometry.resizedWidth, geometry.resizedHeight, {
        fit: 'fill',
        kernel: 'cubic',
        fastShrinkOnLoad: false,
      });
    }
    if (geometry.resizedHeight !== size || geometry.resizedWidth !== size) {
      pipeline = pipeline.extract({ left: geometry.left, top: geometry.top, width: size, height: size });
    }
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ItemError(origin, `cannot decode image (${errorMessage(error)})`);
  }
  const { info, data } = raw;
  if (info.channels !== 3 || info.width !== size || info.height !== size || data.length !== size * size * 3) {
    throw new ItemError(origin, `decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) pixels[i] = data[i] / 255;
  return { pixels, height: size, width: size };
}

/**
 * Lossless 8-bit PNG of HWC pixels. The channel count follows from the length (h·w → grey, h·w·3 → RGB).
 * Float input is in [0,1] and rounded to the nearest 8-bit level (clamped); the same pixels always give the
 * same bytes (fixed zlib level and filter, no metadata).
 */
export async function encodePng(pixels: Float32Array | Uint8Array, height: number, width: number): Promise<Buffer> {
  const channels = pixels.length / (height * width);
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`encodePng: ${pixels.length} values is neither ${height}×${width} grey nor RGB`);
  }
  let bytes: Uint8Array;
  if (pixels instanceof Uint8Array) {
    bytes = pixels;
  } else {
    bytes = new Uint8Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
  }
  const image = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width, height, channels } });
  return (channels === 1 ? image.toColourspace('b-w') : image)
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false, force: true })
    .toBuffer();
}

/**
 * The 8-bit RGB levels of a PNG as stored, without resampling or colour management: what a budget on δ is
 * measured on (src/release/read/row-budget.ts). Grey or alpha PNGs are read as sRGB with alpha dropped.
 */
export async function decodePngLevels(bytes: Uint8Array, origin: string): Promise<{ levels: Uint8Array; height: number; width: number }> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: DEFAULT_MAX_PIXELS })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { levels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), height: info.height, width: info.width };
  } catch (error) {
    throw new ItemError(origin, `not a readable PNG (${errorMessage(error)})`);
  }
}
