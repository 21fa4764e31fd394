// The proxy lives with the chaos run (its half-open fault); the tests use the same one.
export { startBlackholeProxy, type BlackholeProxy } from '../../scripts/chaos/blackhole-proxy.mjs';
