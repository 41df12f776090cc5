// Validates custom resources (prometheus-operator, Traefik) against their CRD schemas, from the
// npm packages @kubernetes-models/prometheus-operator and @kubernetes-models/traefik:
// - at run time with the packages' generated validators (types, enums, required fields);
// - strictly with TypeScript: each object becomes a literal of the CRD's interface type, so
//   `tsc` rejects any field the CRD does not define (the run-time validators accept them).
// Run from a directory whose node_modules holds those packages and typescript:
//   node crds.mjs WORKDIR crds-a.json [crds-b.json ...]
// Exits 1 with one line per problem.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

// apiVersion group -> npm package that has its models.
const PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "traefik.io": "@kubernetes-models/traefik",
  "traefik.containo.us": "@kubernetes-models/traefik",
};

// Where the models' schemas are wrong, the field is taken out here and checked elsewhere:
// they make Prometheus' spec.storage.volumeClaimTemplate an object of kind
// "EmbeddedPersistentVolumeClaim" with apiVersion "monitoring.coreos.com/v1" (required), which
// the real CRD does not ask for; validate.py checks that template against the core
// PersistentVolumeClaim schema instead.
function withoutKnownSchemaBugs(obj) {
  const copy = structuredClone(obj);
  if (["Prometheus", "Alertmanager", "ThanosRuler"].includes(copy.kind) && copy.spec?.storage) {
    delete copy.spec.storage.volumeClaimTemplate;
  }
  return copy;
}

const [workdir, ...files] = process.argv.slice(2);
mkdirSync(workdir, { recursive: true });
const problems = [];
const lines = [];
let count = 0;

for (const file of files) {
  const overlay = basename(file, ".json");
  for (const original of JSON.parse(readFileSync(file, "utf8"))) {
    const obj = withoutKnownSchemaBugs(original);
    const [group, version] = obj.apiVersion.split("/");
    const pkg = PACKAGES[group];
    const where = `${overlay}: ${obj.kind}/${obj.metadata.name}`;
    if (!pkg) {
      problems.push(`${where}: no schema package for ${obj.apiVersion}`);
      continue;
    }
    const module = `${pkg}/${group}/${version}/${obj.kind}`;
    let model;
    try {
      model = (await import(module))[obj.kind];
    } catch (e) {
      problems.push(`${where}: ${obj.apiVersion} ${obj.kind} is not a known kind (${e.message})`);
      continue;
    }
    try {
      new model(obj).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
    }
    const id = `o${count++}`;
    lines.push(`import type { I${obj.kind} as T${id} } from "${module}";`);
    lines.push(`// ${where}\nexport const ${id}: T${id} = ${JSON.stringify(obj, null, 2)};`);
  }
}

if (count > 0) {
  const ts = join(workdir, "crds.ts");
  writeFileSync(ts, lines.join("\n") + "\n");
  try {
    execFileSync(
      join(process.cwd(), "node_modules/.bin/tsc"),
      ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--module", "nodenext",
        "--moduleResolution", "nodenext", ts],
      { cwd: process.cwd(), encoding: "utf8", stdio: "pipe" },
    );
  } catch (e) {
    problems.push(`strict CRD check (unknown or mistyped fields) failed:\n${e.stdout}${e.stderr}`);
  }
}

console.log(`custom resources: ${count} checked against their CRD schemas, ${problems.length} problem(s)`);
for (const p of problems) console.error(`  ${p}`);
process.exit(problems.length ? 1 : 0);
