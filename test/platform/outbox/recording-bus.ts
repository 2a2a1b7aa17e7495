import type { Bus, OutgoingMessage, Subscription } from '../../../src/platform/bus/types.ts';

export interface Published extends OutgoingMessage {
  topic: string;
}

/**
 * The relay's test double for the bus: records what is published, and can be told to fail or to run
 * something (such as killing the relay's connection) when a given message is published.
 */
export class RecordingBus implements Bus {
  readonly kind = 'memory' as const;
  readonly durable = true;
  readonly published: Published[] = [];
  /** Called before each publish; throwing makes that publish fail. */
  beforePublish: (topic: string, message: OutgoingMessage) => Promise<void> = async () => {};

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    await this.beforePublish(topic, message);
    this.published.push({ topic, ...message });
    return message.id ?? `generated-${this.published.length}`;
  }

  async publishBatch(topic: string, messages: readonly OutgoingMessage[]): Promise<string[]> {
    const ids: string[] = [];
    for (const message of messages) ids.push(await this.publish(topic, message));
    return ids;
  }

  subscribe(): Subscription {
    throw new Error('RecordingBus only records publishes');
  }

  async listDeadLetters() {
    return [];
  }

  async redriveDeadLetter(): Promise<void> {}

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}

  /** Payload `n` of each message published for `key`, in publish order. */
  sequence(key: string): unknown[] {
    return this.published.filter((m) => m.key === key).map((m) => (m.payload as { n: unknown }).n);
  }
}
