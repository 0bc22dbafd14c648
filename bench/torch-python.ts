/**
 * The Python that runs the PyTorch references of bench/torch/: the reference venv (scripts/reference-venv.sh:
 * PyTorch 2.x CPU with MKL/oneDNN, what users run today). Debian's PyTorch 1.13 is not the reference any more
 * and is not on every machine. Throws with the venv script's reason when it cannot be made.
 */
import { referencePython } from '../test/helpers/reference-venv.js';

export function torchPython(): string {
  const reference = referencePython();
  if ('unavailable' in reference) throw new Error(`no PyTorch reference: ${reference.unavailable}`);
  return reference.python;
}
