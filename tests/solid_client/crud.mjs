// Drives a pod with an existing Solid client library (@inrupt/solid-client), anonymously, in a
// container that grants the public (foaf:Agent) access. Used by tests/test_pod_solid_client.py.
//
//   node tests/solid_client/crud.mjs <container URL ending in />
//
// Prints one JSON line per step ({"step": ..., "ok": true, ...}); on the first failure prints
// {"step": ..., "ok": false, "error": ..., "exchange": [the HTTP requests of that step]} and exits 1.

import {
  buildThing,
  createSolidDataset,
  createThing,
  deleteFile,
  deleteSolidDataset,
  getContainedResourceUrlAll,
  getFile,
  getSolidDataset,
  getSourceUrl,
  getStringNoLocale,
  getThing,
  getInteger,
  overwriteFile,
  saveSolidDatasetInContainer,
  saveSolidDatasetAt,
  setThing,
  setStringNoLocale,
  setInteger,
  universalAccess,
} from "@inrupt/solid-client";

const SCHEMA = "https://schema.org/";
const NOTE_TEXT = `${SCHEMA}text`;
const NOTE_VERSION = `${SCHEMA}version`;

const container = process.argv[2];
if (!container || !container.endsWith("/")) {
  console.error("usage: node crud.mjs <container URL ending in />");
  process.exit(2);
}

// Every request the library makes, so a failure can say what was asked and what was answered.
let exchange = [];
async function recordingFetch(input, init = {}) {
  const url = typeof input === "string" ? input : input.url;
  const method = init.method ?? (typeof input === "string" ? "GET" : input.method) ?? "GET";
  const requestHeaders = Object.fromEntries(new Headers(init.headers ?? {}).entries());
  const response = await fetch(input, init);
  const entry = {
    method, url, requestHeaders, status: response.status,
    responseHeaders: Object.fromEntries(response.headers.entries()),
  };
  if (!response.ok) {
    entry.responseBody = (await response.clone().text()).slice(0, 500);
  }
  exchange.push(entry);
  return response;
}
const options = { fetch: recordingFetch };

async function step(name, body) {
  exchange = [];
  try {
    const details = (await body()) ?? {};
    console.log(JSON.stringify({ step: name, ok: true, ...details }));
    return details;
  } catch (error) {
    console.log(JSON.stringify({
      step: name, ok: false, error: String(error?.stack ?? error), status: error?.statusCode ?? error?.response?.status,
      exchange,
    }));
    process.exit(1);
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function expectNotFound(url, read) {
  try {
    await read(url, options);
  } catch (error) {
    const status = error?.statusCode ?? error?.response?.status;
    check(status === 404, `expected 404 for ${url}, got ${status}: ${error}`);
    return { url, status };
  }
  throw new Error(`${url} can still be read after it was deleted`);
}

// 1. create an RDF resource in the container (POST, the server names it from the Slug)
const created = await step("create-rdf", async () => {
  const note = buildThing(createThing({ name: "note" }))
    .addStringNoLocale(NOTE_TEXT, "hello from @inrupt/solid-client")
    .addInteger(NOTE_VERSION, 1)
    .build();
  const saved = await saveSolidDatasetInContainer(container, setThing(createSolidDataset(), note),
    { ...options, slugSuggestion: "solid-client-note" });
  const url = getSourceUrl(saved);
  check(typeof url === "string" && url.startsWith(container), `created outside the container: ${url}`);
  return { url };
});
const noteUrl = created.url;

// 2. read it back, and see it listed in the container
await step("read-rdf", async () => {
  const dataset = await getSolidDataset(noteUrl, options);
  const note = getThing(dataset, `${noteUrl}#note`);
  check(note !== null, `no <#note> in ${noteUrl}`);
  const text = getStringNoLocale(note, NOTE_TEXT);
  check(text === "hello from @inrupt/solid-client", `text is ${JSON.stringify(text)}`);
  check(getInteger(note, NOTE_VERSION) === 1, "version is not 1");
  const listed = getContainedResourceUrlAll(await getSolidDataset(container, options));
  check(listed.includes(noteUrl), `${noteUrl} not in the container's listing ${JSON.stringify(listed)}`);
  return { text };
});

// 3. update it: set new values and save (the library sends a PATCH with the changes, If-Match)
await step("update-rdf", async () => {
  const dataset = await getSolidDataset(noteUrl, options);
  let note = getThing(dataset, `${noteUrl}#note`);
  note = setStringNoLocale(note, NOTE_TEXT, "updated by @inrupt/solid-client");
  note = setInteger(note, NOTE_VERSION, 2);
  await saveSolidDatasetAt(noteUrl, setThing(dataset, note), options);
  const reread = getThing(await getSolidDataset(noteUrl, options), `${noteUrl}#note`);
  const text = getStringNoLocale(reread, NOTE_TEXT);
  check(text === "updated by @inrupt/solid-client", `after the update the text is ${JSON.stringify(text)}`);
  check(getInteger(reread, NOTE_VERSION) === 2, "after the update the version is not 2");
  return { text, methods: exchange.map((e) => `${e.method} ${e.status}`) };
});

// 4. a non-RDF file: written (PUT) and read back byte for byte
const fileUrl = `${container}solid-client-bytes.bin`;
const bytes = new Uint8Array(256 + 3);
for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 7 + 3) % 256;
await step("write-file", async () => {
  await overwriteFile(fileUrl, new Blob([bytes], { type: "application/octet-stream" }),
    { ...options, contentType: "application/octet-stream" });
  return { url: fileUrl, size: bytes.length };
});
await step("read-file", async () => {
  const file = await getFile(fileUrl, options);
  const back = new Uint8Array(await file.arrayBuffer());
  check(back.length === bytes.length, `read ${back.length} bytes, wrote ${bytes.length}`);
  check(back.every((value, index) => value === bytes[index]), "the bytes read differ from those written");
  check(file.type.startsWith("application/octet-stream"), `content type ${file.type}`);
  return { size: back.length, contentType: file.type };
});

// 5. the public-access rules of the container (WAC: found through Link rel="acl")
await step("public-access", async () => {
  const access = await universalAccess.getPublicAccess(container, options);
  check(access !== null, "the library could not read the container's access rules (null)");
  check(access.read === true && access.write === true && access.append === true,
    `public access is ${JSON.stringify(access)}`);
  return { access };
});

// 6. delete both, then both are gone (404)
await step("delete-rdf", async () => {
  await deleteSolidDataset(noteUrl, options);
  return { url: noteUrl };
});
await step("delete-file", async () => {
  await deleteFile(fileUrl, options);
  return { url: fileUrl };
});
await step("gone", async () => {
  const rdf = await expectNotFound(noteUrl, getSolidDataset);
  const file = await expectNotFound(fileUrl, getFile);
  const listed = getContainedResourceUrlAll(await getSolidDataset(container, options));
  check(!listed.includes(noteUrl) && !listed.includes(fileUrl), `still listed: ${JSON.stringify(listed)}`);
  return { statuses: [rdf.status, file.status] };
});
