// Benchmark processor: a fixed amount of hashing (calibrated by the bench to ~20 ms on this
// machine). Fixed work, not a fixed time, so two processes fighting for one core show it.
import { createHash } from 'node:crypto';

const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 20_000);

export function hashRounds(rounds) {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < rounds; i += 1) digest = createHash('sha256').update(digest).digest();
  return digest;
}

export default async function cpu() {
  return hashRounds(ROUNDS).toString('hex').slice(0, 8);
}
