// A plain Node.js gRPC client for tusk, loading the contract straight from protos/.
// Usage: node client.js <address> list-jobs <pipeline>
//        node client.js <address> wait-job <pipeline> <id>
// Prints one JSON object per line (each JobInfo or WaitJobResponse) and exits 0 at the end
// of the stream, 1 on a gRPC error (printed as {"error": code, "details": ...}).
"use strict";
const path = require("path");
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const protos = path.resolve(__dirname, "../../../protos");
const definition = loader.loadSync("tusk/proto/pps_v2/pps.proto", {
  includeDirs: [protos],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const pps = grpc.loadPackageDefinition(definition).pps_v2;

const [address, verb, pipeline, id] = process.argv.slice(2);
const client = new pps.API(address, grpc.credentials.createInsecure());

function follow(call) {
  call.on("data", (msg) => process.stdout.write(JSON.stringify(msg) + "\n"));
  call.on("error", (err) => {
    process.stdout.write(JSON.stringify({ error: err.code, details: err.details }) + "\n");
    process.exitCode = 1;
  });
  call.on("end", () => client.close());
}

if (verb === "list-jobs") {
  follow(client.ListJob({ pipeline: { name: pipeline } }));
} else if (verb === "wait-job") {
  follow(client.WaitJob({ job: { pipeline: { name: pipeline }, id: id } }));
} else {
  process.stderr.write(`unknown verb ${verb}\n`);
  process.exit(2);
}
