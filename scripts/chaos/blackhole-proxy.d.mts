/** Types of blackhole-proxy.mjs. */
export interface BlackholeProxy {
  port: number;
  url: string;
  /**
   * The path dies silently, as a NAT or load balancer that dropped its state: established
   * connections stop forwarding in both directions (no RST, no FIN: their sockets stay open
   * and what is written to them goes nowhere). `newConnections: 'hang'` black-holes new ones
   * too (the whole network gone); 'forward' lets them through (only the old ones are dead).
   */
  blackhole(options?: { newConnections?: 'hang' | 'forward' }): void;
  /** New connections are forwarded again; the black-holed ones stay dead until their peer gives up. */
  restore(): void;
  /** Connections forwarding right now. */
  readonly forwarding: number;
  close(): Promise<void>;
}

/** A TCP proxy on loopback in front of `targetPort` that can black-hole the connections through it. */
export function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy>;
