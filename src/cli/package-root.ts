import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * bouy's own package (its checkout, an app's node_modules/bouy, or /app in the image),
 * whichever project the CLI drives: this file is dist/cli/package-root.js, two levels below it.
 */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
