// Benchmark processor: does nothing, so the figure is the queue machinery's own cost.
export default async function noop() {
  return null;
}
