// The Kubernetes side of the k8s test, without a Kubernetes server:
//
//   node validate_job.mjs check FILE...
//     Every document of each manifest against the Kubernetes schemas (npm
//     kubernetes-models: Model.validate()), then what an evcat-bench Job
//     needs beyond the schema: completionMode Indexed, completions =
//     parallelism = the N of `--shard $(JOB_COMPLETION_INDEX)/N`, a start
//     time, `--json -`, the marker line deploy/kubernetes/collect looks for,
//     no retries (backoffLimit 0, restartPolicy Never). Prints one line per
//     document; exit 1 on the first manifest with a problem (each named).
//
//   node validate_job.mjs argv FILE INDEX
//   node validate_job.mjs env FILE INDEX
//     What the kubelet runs in pod INDEX of the Job in FILE: the container's
//     command + args after $(VAR) expansion, and its environment (the
//     container's env, plus JOB_COMPLETION_INDEX as the Job controller adds
//     it), NUL-separated, for bash's `mapfile -d ''`.
//
//   node validate_job.mjs pods FILE DIR
//     The same for every index I at once, into DIR/pod-I.argv and DIR/pod-I.env.
import { readFileSync, writeFileSync } from "node:fs";
import YAML from "yaml";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";

const MARKER = "### evcat bench shard ";
const MODELS = {
    "batch/v1 Job": Job,
    "v1 ConfigMap": ConfigMap,
    "v1 Service": Service,
    "apps/v1 Deployment": Deployment,
};

function die(msg) {
    process.stderr.write(`validate_job: ${msg}\n`);
    process.exit(2);
}

function documents(file) {
    let text;
    try {
        text = readFileSync(file, "utf8");
    } catch (e) {
        die(`${file}: ${e.message}`);
    }
    const docs = YAML.parseAllDocuments(text);
    const out = [];
    for (const d of docs) {
        if (d.errors.length) die(`${file}: YAML: ${d.errors[0].message}`);
        const o = d.toJS();
        if (o !== null && o !== undefined) out.push(o);
    }
    return out;
}

// The kubelet's $(VAR) expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
// $(NAME) of a defined NAME is its value, an undefined one stays as written,
// $$ is one $, and any other $ is kept.
export function expand(input, vars) {
    let out = "";
    for (let i = 0; i < input.length; i++) {
        const c = input[i];
        if (c !== "$" || i + 1 >= input.length) {
            out += c;
            continue;
        }
        const n = input[i + 1];
        if (n === "$") {
            out += "$";
            i += 1;
        } else if (n === "(") {
            const close = input.indexOf(")", i + 2);
            if (close < 0) {
                out += "$(";
                i += 1;
            } else {
                const name = input.slice(i + 2, close);
                out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
                i = close;
            }
        } else {
            out += "$" + n;
            i += 1;
        }
    }
    return out;
}

function jobOf(file) {
    const jobs = documents(file).filter((d) => d.kind === "Job");
    if (jobs.length !== 1) die(`${file}: ${jobs.length} Jobs, expected one`);
    return jobs[0];
}

function container(job) {
    const cs = job?.spec?.template?.spec?.containers ?? [];
    if (cs.length !== 1) die(`Job ${job?.metadata?.name}: ${cs.length} containers, expected one`);
    return cs[0];
}

// The container's environment in pod INDEX, in the kubelet's order.
function podEnv(file, job, index) {
    const maps = {};
    for (const d of documents(file)) if (d.kind === "ConfigMap") maps[d.metadata.name] = d.data ?? {};
    const env = {};
    for (const e of container(job).env ?? []) {
        if ("value" in e) env[e.name] = expand(String(e.value), env);
        else if (e.valueFrom?.configMapKeyRef) {
            const r = e.valueFrom.configMapKeyRef;
            const v = maps[r.name]?.[r.key];
            if (v === undefined) die(`env ${e.name}: no key ${r.key} in ConfigMap ${r.name} of ${file}`);
            env[e.name] = String(v);
        } else die(`env ${e.name}: only value and configMapKeyRef can be emulated here`);
    }
    env.JOB_COMPLETION_INDEX = String(index);
    return env;
}

function podArgv(job, env) {
    const c = container(job);
    if (!c.command) die(`Job ${job.metadata.name}: no command (the image's entrypoint cannot be emulated)`);
    return [...c.command, ...(c.args ?? [])].map((a) => expand(String(a), env));
}

// evcat's needs of an evcat-bench Job, beyond the schema: a list of problems.
function evcatProblems(job) {
    const p = [];
    const s = job.spec ?? {};
    if (s.completionMode !== "Indexed") p.push(`spec.completionMode is ${JSON.stringify(s.completionMode)}, not "Indexed"`);
    if (!Number.isInteger(s.completions) || s.completions < 1) p.push("spec.completions is not a positive integer");
    if (s.parallelism !== s.completions) p.push(`spec.parallelism (${s.parallelism}) is not spec.completions (${s.completions}): the shards would not run at once`);
    if (s.backoffLimit !== 0) p.push("spec.backoffLimit is not 0: a retried shard starts after --start-at");
    if (s.template?.spec?.restartPolicy !== "Never") p.push("template restartPolicy is not Never");
    const cs = s.template?.spec?.containers ?? [];
    if (cs.length !== 1) return [...p, `${cs.length} containers, expected one`];
    const args = cs[0].args ?? [];
    const cmd = (cs[0].command ?? []).join(" ");
    if (!cmd.includes(MARKER)) p.push(`the command does not print the marker line '${MARKER}...' deploy/kubernetes/collect looks for`);
    if (args[0] !== "evcat" || args[1] !== "bench") p.push("args do not start with: evcat bench");
    const at = (flag) => args.indexOf(flag);
    const shard = at("--shard") >= 0 ? String(args[at("--shard") + 1]) : "";
    const m = /^\$\(JOB_COMPLETION_INDEX\)\/(\d+)$/.exec(shard);
    if (!m) p.push(`--shard is ${JSON.stringify(shard)}, not $(JOB_COMPLETION_INDEX)/N`);
    else if (Number(m[1]) !== s.completions) p.push(`--shard .../${m[1]} but spec.completions is ${s.completions}`);
    if (at("--start-at") < 0 || !args[at("--start-at") + 1]) p.push("no --start-at");
    if (at("--json") < 0 || args[at("--json") + 1] !== "-") p.push("no --json - (the shard on stdout)");
    if (at("-q") < 0) p.push("no -q (progress lines in the log)");
    return p;
}

function check(files) {
    let bad = 0;
    for (const file of files) {
        for (const d of documents(file)) {
            const what = `${file}: ${d.kind} ${d.metadata?.name}`;
            const Model = MODELS[`${d.apiVersion} ${d.kind}`];
            if (!Model) {
                console.log(`${what}: no schema here for ${d.apiVersion} ${d.kind}`);
                bad++;
                continue;
            }
            try {
                new Model(d).validate();
            } catch (e) {
                console.log(`${what}: rejected by kubernetes-models: ${e.message}`);
                bad++;
                continue;
            }
            const p = d.kind === "Job" ? evcatProblems(d) : [];
            if (p.length) {
                console.log(`${what}: valid Kubernetes, but: ${p.join("; ")}`);
                bad++;
            } else {
                console.log(`${what}: valid` + (d.kind === "Job" ? ` (Indexed, ${d.spec.completions} shards)` : ""));
            }
        }
    }
    process.exit(bad ? 1 : 0);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "check" && rest.length) check(rest);
else if ((cmd === "argv" || cmd === "env") && rest.length === 2 && /^\d+$/.test(rest[1])) {
    const job = jobOf(rest[0]);
    const env = podEnv(rest[0], job, Number(rest[1]));
    const out = cmd === "argv" ? podArgv(job, env) : Object.entries(env).map(([k, v]) => `${k}=${v}`);
    process.stdout.write(out.map((s) => s + "\0").join(""));
} else if (cmd === "pods" && rest.length === 2) {
    // pods FILE DIR: for every index I, DIR/pod-I.env and DIR/pod-I.argv (as env and argv print them)
    const job = jobOf(rest[0]);
    for (let i = 0; i < job.spec.completions; i++) {
        const env = podEnv(rest[0], job, i);
        writeFileSync(`${rest[1]}/pod-${i}.env`, Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(""));
        writeFileSync(`${rest[1]}/pod-${i}.argv`, podArgv(job, env).map((a) => a + "\0").join(""));
    }
} else if (cmd === "expand" && rest.length >= 1) {
    // expand STRING [NAME=VALUE...]: the kubelet's expansion of one string
    const vars = Object.fromEntries(rest.slice(1).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    process.stdout.write(expand(rest[0], vars) + "\n");
} else die("usage: validate_job.mjs check FILE... | argv FILE INDEX | env FILE INDEX | pods FILE DIR | expand STRING [NAME=VALUE...]");
