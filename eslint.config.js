// The lint configuration lives with its toolchain in the tools/lint workspace (see there why).
export { default } from './tools/lint/eslint.config.js';
