// Benchmark processor: waits like an I/O call (an HTTP request, a database write) would.
const IO_MS = Number(process.env.BENCH_IO_MS ?? 5);

export default async function io() {
  await new Promise((resolve) => setTimeout(resolve, IO_MS));
  return null;
}
