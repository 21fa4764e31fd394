export { LeaderElection, type LeaderOptions, type LeaderEvents, type LeaderStatus, type Elected, type Demoted } from './leader-election.js';
export { leaderKey, readLeader } from './lease.js';
export type { LeaderContext, SingletonStart, SingletonStop } from './singleton-task.js';
export { leaseTiming, type LeaseTiming } from './timing.js';
