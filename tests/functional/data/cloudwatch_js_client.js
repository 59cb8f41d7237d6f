// Run with node: one call of the AWS SDK for JavaScript v3 (@aws-sdk/client-cloudwatch,
// found through NODE_PATH) read as JSON on stdin, its result or error as JSON on stdout.
// stdin: {"endpoint", "access", "secret", "operation", "params"}; timestamps are
// {"$date": ISO 8601} both ways, blobs in the result {"$base64": ...}.
const sdk = require('@aws-sdk/client-cloudwatch');

function revive(key, value) {
  if (value && typeof value === 'object' && Object.keys(value).length === 1 && '$date' in value) {
    return new Date(value.$date);
  }
  return value;
}

function replace(key, value) {
  const raw = this[key];
  if (raw instanceof Date) return {$date: raw.toISOString()};
  if (raw instanceof Uint8Array) return {$base64: Buffer.from(raw).toString('base64')};
  return value;
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const call = JSON.parse(input, revive);
  const config = {
    endpoint: call.endpoint, region: 'RegionOne', maxAttempts: 1,
    credentials: {accessKeyId: call.access, secretAccessKey: call.secret},
  };
  // The SDK speaks json by default; its query and CBOR protocols are a `protocol` away.
  if (call.protocol) config.protocol = require('@aws-sdk/core/protocols')[call.protocol];
  const client = new sdk.CloudWatchClient(config);
  let result;
  try {
    result = await client.send(new sdk[call.operation + 'Command'](call.params));
    delete result.$metadata;
  } catch (error) {
    // A modelled error is named by its shape (MissingRequiredParameterException); the
    // query-era code that x-amzn-query-error carries is its Code.
    result = {__error__: {code: error.Code || error.name, name: error.name,
                          message: error.message,
                          status: error.$metadata ? error.$metadata.httpStatusCode : null}};
  }
  process.stdout.write(JSON.stringify(result, replace));
}

main().catch((error) => { console.error(error); process.exit(1); });
