// The one place that talks S3: the AWS SDK is imported here and nowhere else, and only when an
// s3:// address is given (local commands start as fast as before). Credentials, region, profile
// and endpoint come from the SDK's own chain (AWS_* variables, ~/.aws/config and credentials,
// AWS_PROFILE, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3), as `aws s3` users set them; an endpoint
// of one's own (Ceph, MinIO) gets path-style addressing. Store errors become SaveImageErrors
// (store-errors.ts); what is tried again, and how long after, is retry.ts's rule.
import { SaveImageError } from '../../errors.js';
import type { ObjectAddress } from './address.js';
import { ABORT_ATTEMPTS, isTransient, pauseBefore, READ_ATTEMPTS } from './retry.js';
import { storeError } from './store-errors.js';

export { storeError } from './store-errors.js';

type Sdk = typeof import('@aws-sdk/client-s3');
type Client = import('@aws-sdk/client-s3').S3Client;

export interface StoredObject {
  size: number;
  etag: string;
}

export interface CompletedPart {
  PartNumber: number;
  ETag: string;
}

let sdkLoading: Promise<Sdk> | null = null;

function loadSdk(): Promise<Sdk> {
  sdkLoading ??= import('@aws-sdk/client-s3');
  return sdkLoading;
}

export class ObjectStore {
  private constructor(
    readonly sdk: Sdk,
    readonly client: Client,
    /** The environment the client was made from (an error names where it looked for credentials). */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A client from the environment's configuration; us-east-1 when nothing names a region. */
  static async connect(env: NodeJS.ProcessEnv): Promise<ObjectStore> {
    const sdk = await loadSdk();
    const ownEndpoint = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
    const config = {
      forcePathStyle: ownEndpoint || env.SAVEKIT_S3_PATH_STYLE === '1',
      // Since SDK 3.729 checksums are added by default, which several S3-compatible servers refuse.
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    };
    let client = new sdk.S3Client(config);
    try {
      await client.config.region();
    } catch {
      client.destroy();
      client = new sdk.S3Client({ ...config, region: 'us-east-1' }); // a Ceph or MinIO endpoint needs none
    }
    return new ObjectStore(sdk, client, env);
  }

  close(): void {
    this.client.destroy();
  }

  async #send<T>(address: ObjectAddress, action: string, command: object): Promise<T> {
    try {
      return (await this.client.send(command as never)) as T; // each command's own output type is named by the caller
    } catch (error) {
      throw storeError(error, address, action, this.env);
    }
  }

  /** The object's size and ETag. */
  async head(address: ObjectAddress, ifMatch?: string): Promise<StoredObject> {
    const answer = await this.#send<{ ContentLength?: number; ETag?: string }>(address, 'read', new this.sdk.HeadObjectCommand({ Bucket: address.bucket, Key: address.key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }));
    return { size: answer.ContentLength ?? 0, etag: answer.ETag ?? '' };
  }

  /**
   * Bytes [first, first + length) of the object (fewer at its end), with its size and ETag: the
   * stream below, gathered. With `etag`, the object must still be that one (ERR_IMAGE_CHANGED).
   */
  async read(address: ObjectAddress, first: number, length: number, etag?: string): Promise<{ bytes: Buffer; object: StoredObject }> {
    const target = Buffer.allocUnsafe(length);
    let got = 0;
    const chunks = this.stream(address, first, etag, first + length);
    for (;;) {
      const next = await chunks.next();
      if (next.done) return { bytes: target.subarray(0, got), object: next.value };
      if (got + next.value.length > length) throw new SaveImageError('ERR_IO', `${address.url}: the store sent more than the ${length} bytes asked for at ${first}`);
      got += next.value.copy(target, got);
    }
  }

  /**
   * The object from byte `first` to `end` (exclusive; its end when not given) as a stream of
   * chunks, then its size and ETag (pinned to `etag` when given: If-Match on every request;
   * `onObject` hears them as soon as the first answer names them). A
   * connection lost mid-body is asked again from the byte it reached, under the same ETag, with
   * backoff (the attempts start over once bytes flow again).
   */
  async *stream(address: ObjectAddress, first: number, etag?: string, end?: number, onObject?: (object: StoredObject) => void): AsyncGenerator<Buffer, StoredObject> {
    let at = first;
    let object: StoredObject | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        const pinned: string | undefined = etag ?? object?.etag;
        const answer: { Body?: AsyncIterable<Uint8Array>; ContentRange?: string; ETag?: string } = await this.#send(
          address,
          'read',
          new this.sdk.GetObjectCommand({ Bucket: address.bucket, Key: address.key, Range: `bytes=${at}-${end === undefined ? '' : end - 1}`, ...(pinned ? { IfMatch: pinned } : {}) }),
        );
        if (object === null) {
          object = { size: Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? 0), etag: answer.ETag ?? '' };
          onObject?.(object);
        }
        for await (const chunk of answer.Body ?? []) {
          at += chunk.length;
          attempt = 0;
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
        }
        const last = Math.min(end ?? object.size, object.size);
        if (at !== last) throw new SaveImageError('ERR_IMAGE_CHANGED', `${address.url} ended at ${at} bytes, not ${last}: the object changed while savekit read it`);
        return object;
      } catch (error) {
        if (SaveImageError.is(error) && error.code === 'ERR_TRUNCATED' && object === null) return await this.head(address, etag); // starts past the end
        if (!isTransient(error) || attempt >= READ_ATTEMPTS) throw storeError(error, address, 'read', this.env);
        await pauseBefore(attempt + 1);
      }
    }
  }

  async startUpload(address: ObjectAddress): Promise<string> {
    const answer = await this.#send<{ UploadId?: string }>(address, 'write', new this.sdk.CreateMultipartUploadCommand({ Bucket: address.bucket, Key: address.key }));
    return answer.UploadId!;
  }

  async uploadPart(address: ObjectAddress, uploadId: string, partNumber: number, body: Uint8Array): Promise<CompletedPart> {
    const answer = await this.#send<{ ETag?: string }>(address, 'write', new this.sdk.UploadPartCommand({ Bucket: address.bucket, Key: address.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }));
    return { PartNumber: partNumber, ETag: answer.ETag! };
  }

  /** Bytes [first, last] of `source`, copied by the store into a part (the source pinned to `etag`). */
  async copyPart(address: ObjectAddress, uploadId: string, partNumber: number, source: ObjectAddress, first: number, last: number, etag: string): Promise<CompletedPart> {
    const answer = await this.#send<{ CopyPartResult?: { ETag?: string } }>(
      address,
      'copy to',
      new this.sdk.UploadPartCopyCommand({
        Bucket: address.bucket,
        Key: address.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        CopySource: `${source.bucket}/${encodeURIComponent(source.key)}`,
        CopySourceRange: `bytes=${first}-${last}`,
        CopySourceIfMatch: etag,
      }),
    );
    return { PartNumber: partNumber, ETag: answer.CopyPartResult!.ETag! };
  }

  /** Completes an upload: the object appears now, whole. `ifMatch`: only over that object (where the store honours it). */
  async completeUpload(address: ObjectAddress, uploadId: string, parts: CompletedPart[], ifMatch?: string): Promise<string> {
    const answer = await this.#send<{ ETag?: string }>(
      address,
      'write',
      new this.sdk.CompleteMultipartUploadCommand({ Bucket: address.bucket, Key: address.key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
    );
    return answer.ETag ?? '';
  }

  /** Aborts an upload, retrying while the store is unreachable; false when it never answered. */
  async abortUpload(address: ObjectAddress, uploadId: string): Promise<boolean> {
    for (let attempt = 1; attempt <= ABORT_ATTEMPTS; attempt++) {
      try {
        await this.#send(address, 'abort the upload to', new this.sdk.AbortMultipartUploadCommand({ Bucket: address.bucket, Key: address.key, UploadId: uploadId }));
        return true;
      } catch (error) {
        if (SaveImageError.is(error) && error.code === 'ERR_OBJECT_NOT_FOUND') return true; // gone already
        await pauseBefore(attempt + 1);
      }
    }
    return false;
  }

  /**
   * One request for a whole (small) object; `ifMatch` as S3 defines it. Ceph
   * 18 compares If-Match with the ETag unquoted (a quoted one, as RFC 9110 and AWS have it, always
   * fails with 412): on a 412 while the object still has that ETag, the unquoted form is tried.
   */
  async put(address: ObjectAddress, body: Uint8Array, conditions: { ifMatch?: string } = {}): Promise<string> {
    const send = (ifMatch: string | undefined) =>
      this.#send<{ ETag?: string }>(
        address,
        'write',
        new this.sdk.PutObjectCommand({ Bucket: address.bucket, Key: address.key, Body: body, ContentLength: body.length, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
      );
    try {
      return (await send(conditions.ifMatch)).ETag ?? '';
    } catch (error) {
      const quoted = conditions.ifMatch;
      if (!quoted?.startsWith('"') || !SaveImageError.is(error) || error.code !== 'ERR_IMAGE_CHANGED' || (await this.head(address)).etag !== quoted) throw error;
      return (await send(quoted.slice(1, -1))).ETag ?? '';
    }
  }

  /** Multipart uploads not completed nor aborted in `bucket` (tests: none may be left). */
  async pendingUploads(bucket: string): Promise<{ key: string; uploadId: string }[]> {
    const address = { bucket, key: '', url: `s3://${bucket}/` };
    const answer = await this.#send<{ Uploads?: { Key?: string; UploadId?: string }[] }>(address, 'list the uploads of', new this.sdk.ListMultipartUploadsCommand({ Bucket: bucket }));
    return (answer.Uploads ?? []).map((upload) => ({ key: upload.Key ?? '', uploadId: upload.UploadId ?? '' }));
  }

  async createBucket(bucket: string): Promise<void> {
    await this.#send({ bucket, key: '', url: `s3://${bucket}` }, 'create', new this.sdk.CreateBucketCommand({ Bucket: bucket }));
  }

  async remove(address: ObjectAddress): Promise<void> {
    await this.#send(address, 'remove', new this.sdk.DeleteObjectCommand({ Bucket: address.bucket, Key: address.key }));
  }
}
