/**
 * DynamoDBLeaseStore: checkpoints and shard leases in a KCL-compatible DynamoDB table,
 * so several processes share a stream's shards. One item per shard (leaseKey = shardId,
 * or `stream:shardId` when a reader has several streams) with the KCL attributes
 * leaseOwner, leaseCounter, checkpoint, checkpointSubSequenceNumber,
 * ownerSwitchesSinceCheckpoint and parentShardIds. Every change is a conditional write
 * on leaseOwner and leaseCounter, so two workers never both own a shard.
 *
 * Every leaseRenewalIntervalMs the store renews its leases, scans the table and takes
 * free or expired leases (or steals one towards an even split), telling the reader what
 * it gained and lost. On detach it releases its leases so others take them at once.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClientConfig,
  type ScanCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AbortError, CheckpointError, LeaseLostError, ValidationError, describeError } from '../errors.js';
import { CLIENT_DEFAULTS, LEASE_DEFAULTS } from '../limits.js';
import { logger } from '../log.js';
import { publishLeaseGained, publishLeaseLost, publishLeaseReleased, publishLeasesHeld, publishRetry, type LeaseIdentity } from '../metrics/channels.js';
import { instrumentClient } from '../metrics/client-middleware.js';
import { nonEmptyString, positiveInteger } from '../options.js';
import { RetryPolicy, delay, errorCode, isRetriableError, type RetryOptions } from '../retry.js';
import { LeaseCoordinator, type LeaseView } from './lease-coordinator.js';
import { SHARD_END, isCheckpoint, type Checkpoint, type CheckpointStore } from './store.js';

const log = logger('lease');

/** Options of DynamoDBLeaseStore. */
export interface DynamoDBLeaseStoreOptions {
  /** The lease table; created (on-demand billing) when missing. At least 3 characters. */
  tableName: string;
  /** This worker's name in leaseOwner. Default: hostname, pid and a random suffix. */
  workerId?: string;
  /** A DynamoDB client, used as given. */
  client?: DynamoDBClient;
  /** Region / endpoint / credentials of DynamoDB, when no client is given. */
  region?: string;
  endpoint?: string;
  credentials?: DynamoDBClientConfig['credentials'];
  /** A lease whose counter does not move for this long is taken over. Default 10000. */
  failoverTimeMs?: number;
  /** How often leases are renewed and the table scanned. Default failoverTimeMs / 3. */
  leaseRenewalIntervalMs?: number;
  /** Most leases this worker holds. Default: no limit. */
  maxLeasesForWorker?: number;
  /** Retries of throttled or failed DynamoDB calls (get, set, create). */
  retry?: RetryOptions;
}

/** Where a new lease starts: an initial-position sentinel, as the KCL writes them. */
export type LeaseStart = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | typeof SHARD_END;

/** A shard the reader has listed, for lease creation. */
export interface LeaseShard {
  shardId: string;
  parentShardIds: string[];
  start: LeaseStart;
}

/** What a lease manager tells its reader. */
export interface LeaseListener {
  leaseGained(stream: string, shardId: string): void;
  leaseLost(stream: string, shardId: string): void;
  /** Another worker (or an earlier run) finished the shard: its children may start. */
  shardFinished(stream: string, shardId: string): void;
  /** The manager cannot go on (the table is gone, access denied). */
  failed(error: Error): void;
}

/**
 * The optional part of a CheckpointStore that coordinates leases: with it, a reader
 * reads only the shards it holds.
 */
export interface LeaseManager {
  /** Starts leasing for the reader's streams (as passed to get/set). */
  attach(streams: readonly string[], listener: LeaseListener): Promise<void>;
  /** Creates leases for listed shards that have none. */
  syncShards(stream: string, shards: readonly LeaseShard[]): Promise<void>;
  /** True while this worker holds the shard's lease. */
  holds(stream: string, shardId: string): boolean;
  /** Stops leasing and releases every lease held, so others take them at once. */
  detach(): Promise<void>;
}

/** True when a checkpoint store also manages leases. */
export function isLeaseManager(store: CheckpointStore): store is CheckpointStore & LeaseManager {
  const s = store as Partial<LeaseManager>;
  return typeof s.attach === 'function' && typeof s.syncShards === 'function' && typeof s.holds === 'function' && typeof s.detach === 'function';
}

interface HeldLease {
  counter: number;
  renewedAt: number;
  /** Serializes the conditional writes on this lease (renewal, checkpoint, release). */
  chain: Promise<unknown>;
}

const SENTINELS = new Set(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']);

export class DynamoDBLeaseStore implements CheckpointStore, LeaseManager {
  readonly tableName: string;
  readonly workerId: string;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly failoverTimeMs: number;
  private readonly renewalIntervalMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly coordinator: LeaseCoordinator;
  private readonly held = new Map<string, HeldLease>();
  private readonly finished = new Set<string>();
  private tableReady: Promise<void> | undefined;
  private listener: LeaseListener | undefined;
  /** leaseKey prefix mode: `stream:shardId` when the reader has several streams. */
  private streams: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private passing: Promise<void> | undefined;
  private readonly abortController = new AbortController();

  constructor(options: DynamoDBLeaseStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'DynamoDBLeaseStore needs an options object');
    this.tableName = nonEmptyString(options.tableName, 'tableName');
    if (this.tableName.length < 3) throw new ValidationError('tableName', `must have at least 3 characters, got ${JSON.stringify(this.tableName)}`);
    this.workerId = options.workerId === undefined ? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}` : nonEmptyString(options.workerId, 'workerId');
    this.failoverTimeMs = positiveInteger(options.failoverTimeMs ?? LEASE_DEFAULTS.failoverTimeMs, 'failoverTimeMs');
    this.renewalIntervalMs = positiveInteger(options.leaseRenewalIntervalMs ?? Math.max(1, Math.floor(this.failoverTimeMs / 3)), 'leaseRenewalIntervalMs');
    if (this.renewalIntervalMs >= this.failoverTimeMs) {
      throw new ValidationError('leaseRenewalIntervalMs', `must be below failoverTimeMs (${this.failoverTimeMs}), got ${this.renewalIntervalMs}`);
    }
    const maxLeasesForWorker = options.maxLeasesForWorker === undefined ? Number.POSITIVE_INFINITY : positiveInteger(options.maxLeasesForWorker, 'maxLeasesForWorker');
    this.retryPolicy = new RetryPolicy(options.retry);
    this.coordinator = new LeaseCoordinator({ workerId: this.workerId, failoverTimeMs: this.failoverTimeMs, maxLeasesForWorker });
    if (options.client !== undefined) {
      this.client = instrumentClient(options.client, 'dynamodb');
      this.ownsClient = false;
    } else {
      this.client = createDynamoDBClient(options);
      this.ownsClient = true;
    }
  }

  // ---- CheckpointStore ----------------------------------------------------------

  async get(stream: string, shardId: string): Promise<Checkpoint | undefined> {
    await this.ensureTable();
    const output = await this.call('GetItem', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: this.leaseKey(stream, shardId) } }, ConsistentRead: true })),
    );
    return output.Item === undefined ? undefined : toCheckpoint(output.Item);
  }

  async set(stream: string, shardId: string, checkpoint: Checkpoint): Promise<void> {
    if (!isCheckpoint(checkpoint)) throw new CheckpointError(`invalid checkpoint for ${stream}/${shardId}`);
    await this.ensureTable();
    const leaseKey = this.leaseKey(stream, shardId);
    if (this.listener === undefined) {
      // Used as a plain checkpoint store (no reader attached): unconditional write.
      await this.call('UpdateItem', () => this.client.send(new UpdateItemCommand(this.checkpointUpdate(leaseKey, checkpoint))));
      if (checkpoint.sequenceNumber === SHARD_END) this.finished.add(leaseKey);
      return;
    }
    const lease = this.held.get(leaseKey);
    if (lease === undefined) throw new LeaseLostError([shardId]);
    await this.onLease(leaseKey, lease, async () => {
      const plain = this.checkpointUpdate(leaseKey, checkpoint);
      const input = this.ownedUpdate(leaseKey, lease, (plain.UpdateExpression ?? '').replace(/^SET /, ''), plain.ExpressionAttributeValues);
      try {
        await this.call('UpdateItem', () => this.client.send(new UpdateItemCommand(input)));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException || errorCode(error) === 'ConditionalCheckFailedException') {
          this.lose(leaseKey);
          throw new LeaseLostError([shardId], { cause: error });
        }
        throw error;
      }
      lease.counter++;
      lease.renewedAt = Date.now();
      if (checkpoint.sequenceNumber === SHARD_END) this.finished.add(leaseKey);
    });
  }

  // ---- LeaseManager -------------------------------------------------------------

  async attach(streams: readonly string[], listener: LeaseListener): Promise<void> {
    if (this.listener !== undefined) throw new ValidationError('checkpointStore', 'this DynamoDBLeaseStore is already used by another reader');
    this.streams = [...streams];
    this.listener = listener;
    await this.ensureTable();
    this.running = true;
    this.schedule(0);
  }

  async syncShards(stream: string, shards: readonly LeaseShard[]): Promise<void> {
    await this.ensureTable();
    await Promise.all(
      shards.map(async (shard) => {
        const item: Record<string, AttributeValue> = {
          leaseKey: { S: this.leaseKey(stream, shard.shardId) },
          leaseCounter: { N: '0' },
          checkpoint: { S: shard.start },
          checkpointSubSequenceNumber: { N: '0' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
        };
        if (shard.parentShardIds.length > 0) item.parentShardIds = { SS: shard.parentShardIds };
        try {
          await this.call('PutItem', () =>
            this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(leaseKey)' })),
          );
          log('created lease %s at %s', item.leaseKey.S, shard.start);
        } catch (error) {
          if (errorCode(error) !== 'ConditionalCheckFailedException') throw error; // it exists: fine
        }
      }),
    );
    // New leases may be free for this worker: look now rather than at the next pass.
    if (this.running) this.schedule(0);
  }

  holds(stream: string, shardId: string): boolean {
    return this.held.has(this.leaseKey(stream, shardId));
  }

  async detach(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.passing?.catch(() => undefined);
    const keys = [...this.held.keys()];
    await Promise.all(keys.map((leaseKey) => this.release(leaseKey)));
    publishLeasesHeld(this.tableName, this.workerId, this.held.size, true);
    this.listener = undefined;
    this.abortController.abort();
    if (this.ownsClient) this.client.destroy();
  }

  /** Lease keys this worker holds (for tests and tools). */
  heldLeaseKeys(): string[] {
    return [...this.held.keys()];
  }

  // ---- the lease loop -----------------------------------------------------------

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.passing !== undefined) {
        this.schedule(this.renewalIntervalMs);
        return;
      }
      this.passing = this.pass()
        .catch((error: unknown) => {
          log('lease pass failed: %s', describeError(error));
          if (!isRetriableError(error) && !(error instanceof LeaseLostError)) this.listener?.failed(error instanceof Error ? error : new Error(String(error)));
        })
        .finally(() => {
          this.passing = undefined;
          this.schedule(this.renewalIntervalMs);
        });
    }, delayMs);
  }

  /** Renew, scan, take. */
  private async pass(): Promise<void> {
    await Promise.all([...this.held.keys()].map((leaseKey) => this.renew(leaseKey)));
    if (!this.running) return;
    const leases = await this.scan();
    const now = Date.now();
    this.coordinator.observe(leases, now);
    for (const lease of leases) {
      if (lease.checkpoint === SHARD_END && !this.finished.has(lease.leaseKey)) {
        this.finished.add(lease.leaseKey);
        const [stream, shardId] = this.split(lease.leaseKey);
        this.listener?.shardFinished(stream, shardId);
      }
      // The table says someone else owns a lease this worker thinks it holds.
      if (this.held.has(lease.leaseKey) && lease.owner !== this.workerId) this.lose(lease.leaseKey);
    }
    const decision = this.coordinator.decide(leases, new Set(this.held.keys()), now);
    for (const lease of decision.take) await this.take(lease, false);
    if (decision.steal !== undefined) await this.take(decision.steal, true);
    publishLeasesHeld(this.tableName, this.workerId, this.held.size, !this.running);
  }

  private async renew(leaseKey: string): Promise<void> {
    const lease = this.held.get(leaseKey);
    if (lease === undefined) return;
    await this.onLease(leaseKey, lease, async () => {
      try {
        await this.client.send(new UpdateItemCommand(this.ownedUpdate(leaseKey, lease, '')), { abortSignal: this.abortController.signal });
        lease.counter++;
        lease.renewedAt = Date.now();
      } catch (error) {
        if (errorCode(error) === 'ConditionalCheckFailedException') {
          this.lose(leaseKey);
        } else if (Date.now() - lease.renewedAt > this.failoverTimeMs) {
          // Could not renew for a failover time: others may hold it by now.
          log('lease %s not renewed for %d ms (%s)', leaseKey, this.failoverTimeMs, describeError(error));
          this.lose(leaseKey, 'notRenewed');
        }
      }
    });
  }

  private async take(lease: LeaseView, steal: boolean): Promise<void> {
    const values: Record<string, AttributeValue> = {
      ':me': { S: this.workerId },
      ':counter': { N: String(lease.counter) },
      ':next': { N: String(lease.counter + 1) },
      ':one': { N: '1' },
      ':zero': { N: '0' },
    };
    let condition = 'leaseCounter = :counter AND ';
    if (lease.owner === undefined) condition += 'attribute_not_exists(leaseOwner)';
    else {
      condition += 'leaseOwner = :owner';
      values[':owner'] = { S: lease.owner };
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: lease.leaseKey } },
          UpdateExpression:
            'SET leaseOwner = :me, leaseCounter = :next, ownerSwitchesSinceCheckpoint = if_not_exists(ownerSwitchesSinceCheckpoint, :zero) + :one',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: this.abortController.signal },
      );
    } catch (error) {
      if (errorCode(error) === 'ConditionalCheckFailedException') return; // someone was faster
      throw error;
    }
    log('%s lease %s (from %s)', steal ? 'stole' : 'took', lease.leaseKey, lease.owner ?? 'nobody');
    this.held.set(lease.leaseKey, { counter: lease.counter + 1, renewedAt: Date.now(), chain: Promise.resolve() });
    const [stream, shardId] = this.split(lease.leaseKey);
    publishLeaseGained(this.identity(lease.leaseKey), steal, lease.owner);
    this.listener?.leaseGained(stream, shardId);
  }

  private async release(leaseKey: string): Promise<void> {
    const lease = this.held.get(leaseKey);
    if (lease === undefined) return;
    await this.onLease(leaseKey, lease, async () => {
      try {
        const input = this.ownedUpdate(leaseKey, lease, '');
        input.UpdateExpression = `REMOVE leaseOwner ${input.UpdateExpression}`;
        await this.client.send(new UpdateItemCommand(input));
        log('released lease %s', leaseKey);
        publishLeaseReleased(this.identity(leaseKey));
      } catch (error) {
        log('could not release lease %s: %s', leaseKey, describeError(error));
      }
    });
    this.held.delete(leaseKey);
  }

  private lose(leaseKey: string, reason: 'taken' | 'notRenewed' = 'taken'): void {
    if (!this.held.delete(leaseKey)) return;
    log('lost lease %s', leaseKey);
    publishLeaseLost(this.identity(leaseKey), reason);
    const [stream, shardId] = this.split(leaseKey);
    this.listener?.leaseLost(stream, shardId);
  }

  private onLease<R>(leaseKey: string, lease: HeldLease, work: () => Promise<R>): Promise<R> {
    const next = lease.chain.catch(() => undefined).then(work);
    lease.chain = next;
    return next;
  }

  private async scan(): Promise<LeaseView[]> {
    const leases: LeaseView[] = [];
    let input: ScanCommandInput = { TableName: this.tableName, ConsistentRead: true };
    for (;;) {
      const output = await this.client.send(new ScanCommand(input), { abortSignal: this.abortController.signal });
      for (const item of output.Items ?? []) {
        const leaseKey = item.leaseKey?.S;
        if (leaseKey === undefined || !this.isOurs(leaseKey)) continue;
        leases.push({
          leaseKey,
          owner: item.leaseOwner?.S,
          counter: Number(item.leaseCounter?.N ?? '0'),
          checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
          parentShardIds: item.parentShardIds?.SS ?? [],
        });
      }
      if (output.LastEvaluatedKey === undefined) return leases;
      input = { ...input, ExclusiveStartKey: output.LastEvaluatedKey };
    }
  }

  // ---- table and keys -----------------------------------------------------------

  private ensureTable(): Promise<void> {
    this.tableReady ??= this.createTableIfMissing().catch((error: unknown) => {
      this.tableReady = undefined;
      throw error;
    });
    return this.tableReady;
  }

  private async createTableIfMissing(): Promise<void> {
    try {
      const { Table } = await this.call('DescribeTable', () => this.client.send(new DescribeTableCommand({ TableName: this.tableName })));
      const key = Table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (key !== 'leaseKey') throw new CheckpointError(`table ${this.tableName} is not a lease table: its hash key is ${String(key)}, not leaseKey`);
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (errorCode(error) !== 'ResourceNotFoundException') throw error;
      log('creating lease table %s', this.tableName);
      try {
        await this.call('CreateTable', () =>
          this.client.send(
            new CreateTableCommand({
              TableName: this.tableName,
              KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
              AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          ),
        );
      } catch (createError) {
        if (errorCode(createError) !== 'ResourceInUseException') throw createError; // another worker created it
      }
    }
    for (let attempt = 1; ; attempt++) {
      const { Table } = await this.call('DescribeTable', () => this.client.send(new DescribeTableCommand({ TableName: this.tableName })));
      if (Table?.TableStatus === 'ACTIVE') return;
      await delay(Math.min(1000, 50 * attempt), this.abortController.signal);
    }
  }

  /** A lease as the metrics channels name it. */
  private identity(leaseKey: string): LeaseIdentity {
    const [streamKey, shardId] = this.split(leaseKey);
    return { tableName: this.tableName, workerId: this.workerId, leaseKey, streamKey, shardId };
  }

  private leaseKey(stream: string, shardId: string): string {
    return this.streams.length > 1 ? `${stream}:${shardId}` : shardId;
  }

  private split(leaseKey: string): [string, string] {
    if (this.streams.length > 1) {
      const at = leaseKey.lastIndexOf(':');
      return [leaseKey.slice(0, at), leaseKey.slice(at + 1)];
    }
    return [this.streams[0] ?? '', leaseKey];
  }

  /** With several streams, only keys of those streams belong to this reader. */
  private isOurs(leaseKey: string): boolean {
    if (this.streams.length <= 1) return !leaseKey.includes(':');
    const [stream] = this.split(leaseKey);
    return this.streams.includes(stream);
  }

  /** An update of a lease this worker holds: conditional on owner and counter, and moving the counter on. */
  private ownedUpdate(leaseKey: string, lease: HeldLease, set: string, values: Record<string, AttributeValue> = {}): UpdateItemCommandInput {
    return {
      TableName: this.tableName,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: `SET leaseCounter = :next${set === '' ? '' : `, ${set}`}`,
      ConditionExpression: 'leaseOwner = :me AND leaseCounter = :counter',
      ExpressionAttributeValues: {
        ...values,
        ':me': { S: this.workerId },
        ':counter': { N: String(lease.counter) },
        ':next': { N: String(lease.counter + 1) },
      },
    };
  }

  private checkpointUpdate(leaseKey: string, checkpoint: Checkpoint): UpdateItemCommandInput {
    return {
      TableName: this.tableName,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: 'SET checkpoint = :cp, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero',
      ExpressionAttributeValues: {
        ':cp': { S: checkpoint.sequenceNumber },
        ':sub': { N: String(checkpoint.subSequenceNumber ?? 0) },
        ':zero': { N: '0' },
      },
    };
  }

  /** A DynamoDB call with retries of throttling and transient errors. */
  private async call<R>(operation: string, send: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (this.abortController.signal.aborted) throw new AbortError();
        const code = errorCode(error);
        const retriable = isRetriableError(error) || code === 'ProvisionedThroughputExceededException' || code === 'RequestLimitExceeded';
        if (!retriable || !this.retryPolicy.canRetry(attempt)) {
          if (error instanceof CheckpointError || code === 'ConditionalCheckFailedException' || code === 'ResourceNotFoundException' || code === 'ResourceInUseException') throw error;
          throw new CheckpointError(`${operation} on lease table ${this.tableName} failed: ${describeError(error)}`, { cause: error, retriable });
        }
        const delayMs = this.retryPolicy.delayFor(attempt);
        log('%s retry %d in %d ms: %s', operation, attempt, delayMs, describeError(error));
        publishRetry({ source: 'lease', operation, tableName: this.tableName, attempt, delayMs, error });
        await delay(delayMs, this.abortController.signal);
      }
    }
  }
}

function toCheckpoint(item: Record<string, AttributeValue>): Checkpoint | undefined {
  const sequenceNumber = item.checkpoint?.S;
  if (sequenceNumber === undefined || SENTINELS.has(sequenceNumber)) return undefined;
  const checkpoint: Checkpoint = { sequenceNumber };
  // As in the KCL, (sequence, sub) means "up to sub-record `sub`"; a plain record has 0,
  // which resumes AT_SEQUENCE_NUMBER and skips that record.
  if (item.checkpointSubSequenceNumber?.N !== undefined) checkpoint.subSequenceNumber = Number(item.checkpointSubSequenceNumber.N);
  if (!isCheckpoint(checkpoint)) throw new CheckpointError(`lease ${item.leaseKey?.S ?? '?'} holds an invalid checkpoint ${JSON.stringify(sequenceNumber)}`);
  if (sequenceNumber === SHARD_END) return { sequenceNumber };
  return checkpoint;
}

function createDynamoDBClient(options: DynamoDBLeaseStoreOptions): DynamoDBClient {
  const config: DynamoDBClientConfig = { maxAttempts: 1 };
  if (options.region !== undefined) config.region = nonEmptyString(options.region, 'region');
  if (options.credentials !== undefined) config.credentials = options.credentials;
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (options.endpoint !== undefined) config.endpoint = nonEmptyString(options.endpoint, 'endpoint');
  if (endpoint !== undefined && endpoint.startsWith('http:')) {
    config.requestHandler = new NodeHttpHandler({
      connectionTimeout: CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: CLIENT_DEFAULTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: CLIENT_DEFAULTS.requestTimeoutMs,
    });
    if (config.credentials === undefined && process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
    if (config.region === undefined && process.env.AWS_REGION === undefined && process.env.AWS_DEFAULT_REGION === undefined) config.region = 'us-east-1';
  }
  return instrumentClient(new DynamoDBClient(config), 'dynamodb');
}
