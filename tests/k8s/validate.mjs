// Checks Kubernetes objects (what runosd sends in APPLY_CR) against the built-in Kubernetes API:
//
//   node tests/k8s/validate.mjs FILE|DIR...
//
// Each FILE is one JSON object, a JSON array of them, or a v1 List; a DIR stands for its *.json
// files (its subdirectories too), in name order. Prints one line per object, "ok KIND NAME FILE"
// or "FAIL KIND NAME FILE: PATH: REASON; ...", and exits 1 when any object failed, when a file
// could not be read or parsed, or when no object was given at all (an empty directory included:
// a check of nothing must not pass); 2 on a usage error.
//
// What an object must be:
// - apiVersion + kind of the built-in API of Kubernetes 1.36: the OpenAPI schemas of
//   kubernetes-models (package.json), generated from upstream's. Only GA versions (v1, v2): the
//   package also carries alpha/beta and long-removed versions (extensions/v1beta1), which a
//   cluster does not serve or serves only when asked to. The one custom resource group runosd
//   sends, cert-manager.io/v1 (a custom domain's Certificate), is checked against cert-manager's
//   CRD schemas (@kubernetes-models/cert-manager, CUSTOM_RESOURCES below). Other custom resources are not built in: they
//   fail here, as the issue wants (they go through their operator's Helm chart).
// - valid by that schema: required fields, types, enums, formats (base64 data, quantities,
//   date-time), and no unknown field at any depth, as the API server's strict field validation
//   (kubectl's default) and kubeconform -strict have it. The generated validators do not reject
//   unknown fields themselves; they read every property their schema defines, so an object whose
//   validator read some of its keys and not others has those others unknown (see strictCheck).
// - metadata as the API server validates it: name a DNS-1123 subdomain (a DNS-1123 label for a
//   Namespace, an RFC 1035 label for a Service, a path segment for RBAC kinds), metadata.namespace
//   a DNS-1123 label, present on namespaced kinds (APPLY_CR names no namespace: without it the
//   object lands in the kubeconfig's default) and absent on cluster-scoped ones; label keys and
//   values, annotation keys, selectors' matchLabels and matchExpressions keys and a Service's
//   selector in label syntax; a Namespace's pod-security.kubernetes.io labels as Pod Security
//   Admission requires them on create.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

// Cluster-scoped kinds of the GA groups ("group/Kind", "" for core); every other kind is namespaced.
const CLUSTER_SCOPED = new Set([
	"/Namespace", "/Node", "/PersistentVolume", "/ComponentStatus",
	"rbac.authorization.k8s.io/ClusterRole", "rbac.authorization.k8s.io/ClusterRoleBinding",
	"storage.k8s.io/StorageClass", "storage.k8s.io/CSIDriver", "storage.k8s.io/CSINode",
	"storage.k8s.io/VolumeAttachment", "storage.k8s.io/VolumeAttributesClass",
	"scheduling.k8s.io/PriorityClass", "node.k8s.io/RuntimeClass",
	"networking.k8s.io/IngressClass", "networking.k8s.io/IPAddress", "networking.k8s.io/ServiceCIDR",
	"apiextensions.k8s.io/CustomResourceDefinition", "apiregistration.k8s.io/APIService",
	"admissionregistration.k8s.io/MutatingWebhookConfiguration",
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration",
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy",
	"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding",
	"admissionregistration.k8s.io/MutatingAdmissionPolicy",
	"admissionregistration.k8s.io/MutatingAdmissionPolicyBinding",
	"certificates.k8s.io/CertificateSigningRequest",
	"flowcontrol.apiserver.k8s.io/FlowSchema", "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration",
	"resource.k8s.io/DeviceClass", "resource.k8s.io/ResourceSlice",
	"authentication.k8s.io/TokenReview", "authentication.k8s.io/SelfSubjectReview",
	"authorization.k8s.io/SubjectAccessReview", "authorization.k8s.io/SelfSubjectAccessReview",
	"authorization.k8s.io/SelfSubjectRulesReview",
]);
const RBAC_KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

// k8s.io/apimachinery/pkg/util/validation
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const API_VERSION = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const ANNOTATIONS_MAX = 256 * 1024;
// k8s.io/pod-security-admission/api
const PSA_PREFIX = "pod-security.kubernetes.io/";
const PSA_LEVELS = new Set(["privileged", "baseline", "restricted"]);
const PSA_VERSION = /^(latest|v1\.(0|[1-9][0-9]*))$/;

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function dnsLabel(v, re = DNS1123_LABEL) {
	if (typeof v !== "string" || v === "") return "must be a non-empty string";
	if (v.length > 63) return "must be at most 63 characters";
	if (!re.test(v)) {
		return re === DNS1035_LABEL
			? "must be an RFC 1035 label (lower-case letters, digits and '-', starting with a letter)"
			: "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending alphanumeric)";
	}
	return null;
}

function dnsSubdomain(v) {
	if (typeof v !== "string" || v === "") return "must be a non-empty string";
	if (v.length > 253) return "must be at most 253 characters";
	if (!DNS1123_SUBDOMAIN.test(v)) return "must be a DNS-1123 subdomain (lower-case alphanumeric, '-' and '.')";
	return null;
}

function pathSegment(v) {
	if (typeof v !== "string" || v === "") return "must be a non-empty string";
	if (v === "." || v === "..") return `may not be '${v}'`;
	if (/[/%]/.test(v)) return "may not contain '/' or '%'";
	return null;
}

// A label or annotation key: [prefix/]name, prefix a DNS-1123 subdomain, name at most 63.
function qualifiedName(k) {
	const slash = k.lastIndexOf("/");
	const name = slash < 0 ? k : k.slice(slash + 1);
	if (slash >= 0) {
		const prefix = k.slice(0, slash);
		const bad = prefix.includes("/") ? "has more than one '/'" : dnsSubdomain(prefix);
		if (bad) return `prefix ${bad}`;
	}
	if (name === "" || name.length > 63 || !QUALIFIED_NAME.test(name)) {
		return "name part must be 1-63 characters of alphanumerics, '-', '_' or '.', starting and ending alphanumeric";
	}
	return null;
}

function labelValue(v) {
	if (typeof v !== "string") return "must be a string";
	if (v.length > 63 || !LABEL_VALUE.test(v)) {
		return "must be empty or 1-63 characters of alphanumerics, '-', '_' or '.', starting and ending alphanumeric";
	}
	return null;
}

function pathOf(segments) {
	return segments
		.map((s, i) => {
			if (typeof s === "number") return `[${s}]`;
			if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) return i === 0 ? s : `.${s}`;
			return `[${JSON.stringify(s)}]`;
		})
		.join("") || "(object)";
}

function checkLabelMap(map, at, errs) {
	if (!isObject(map)) return; // the schema reported it
	for (const [k, v] of Object.entries(map)) {
		const badKey = qualifiedName(k);
		if (badKey) errs.push(`${pathOf(at)}: label key ${JSON.stringify(k)}: ${badKey}`);
		const badValue = labelValue(v);
		if (badValue) errs.push(`${pathOf([...at, k])}: label value ${JSON.stringify(v)}: ${badValue}`);
	}
}

// Labels wherever they are: every metadata.labels (pod templates too), every label selector's
// matchLabels and matchExpressions keys, a Service's spec.selector.
function checkLabelsDeep(v, at, errs) {
	if (Array.isArray(v)) {
		v.forEach((x, i) => checkLabelsDeep(x, [...at, i], errs));
		return;
	}
	if (!isObject(v)) return;
	for (const [k, x] of Object.entries(v)) {
		const here = [...at, k];
		if ((k === "labels" && at[at.length - 1] === "metadata") || k === "matchLabels") {
			checkLabelMap(x, here, errs);
		} else if (k === "matchExpressions" && Array.isArray(x)) {
			x.forEach((e, i) => {
				if (isObject(e) && typeof e.key === "string") {
					const bad = qualifiedName(e.key);
					if (bad) errs.push(`${pathOf([...here, i, "key"])}: label key ${JSON.stringify(e.key)}: ${bad}`);
				}
			});
		} else {
			checkLabelsDeep(x, here, errs);
		}
	}
}

function checkMetadata(obj, group, errs) {
	const meta = obj.metadata;
	if (!isObject(meta)) {
		errs.push("metadata: required");
		return;
	}
	const kind = obj.kind;
	let bad;
	if (kind === "Namespace") bad = dnsLabel(meta.name);
	else if (kind === "Service" && group === "") bad = dnsLabel(meta.name, DNS1035_LABEL);
	else if (RBAC_KINDS.has(kind) && group === "rbac.authorization.k8s.io") bad = pathSegment(meta.name);
	else bad = dnsSubdomain(meta.name);
	if (bad) errs.push(`metadata.name: ${bad}`);

	const clusterScoped = CLUSTER_SCOPED.has(`${group}/${kind}`);
	if (clusterScoped && meta.namespace !== undefined) {
		errs.push(`metadata.namespace: ${kind} is cluster-scoped and has no namespace`);
	} else if (!clusterScoped) {
		if (meta.namespace === undefined) {
			errs.push(`metadata.namespace: required for the namespaced ${kind} (APPLY_CR names none)`);
		}
		else if ((bad = dnsLabel(meta.namespace))) errs.push(`metadata.namespace: ${bad}`);
	}

	if (isObject(meta.annotations)) {
		let size = 0;
		for (const [k, v] of Object.entries(meta.annotations)) {
			if ((bad = qualifiedName(k))) errs.push(`metadata.annotations: key ${JSON.stringify(k)}: ${bad}`);
			size += k.length + (typeof v === "string" ? v.length : 0);
		}
		if (size > ANNOTATIONS_MAX) errs.push(`metadata.annotations: ${size} bytes, at most ${ANNOTATIONS_MAX}`);
	}

	if (kind === "Namespace" && group === "" && isObject(meta.labels)) {
		for (const [k, v] of Object.entries(meta.labels)) {
			if (!k.startsWith(PSA_PREFIX)) continue;
			const mode = k.slice(PSA_PREFIX.length);
			const at = pathOf(["metadata", "labels", k]);
			if (["enforce", "audit", "warn"].includes(mode)) {
				if (!PSA_LEVELS.has(v)) errs.push(`${at}: must be privileged, baseline or restricted`);
			} else if (["enforce-version", "audit-version", "warn-version"].includes(mode)) {
				if (!PSA_VERSION.test(v)) errs.push(`${at}: must be latest or v1.<minor>`);
			}
		}
	}
	if (kind === "Service" && group === "" && isObject(obj.spec)) {
		checkLabelMap(obj.spec.selector, ["spec", "selector"], errs);
	}
	checkLabelsDeep(obj, [], errs);
}

// The generated validators read each property their schema defines (required or not) and every
// key of a map; they read nothing of a free-form object (x-kubernetes-preserve-unknown-fields,
// RawExtension). So the validator runs on proxies that record which keys it read: where it read
// some keys of an object, the keys it did not read are unknown fields.
function tracked(root) {
	const reads = new Map(); // target object -> Set of keys read
	const proxies = new WeakMap();
	const wrap = (v) => {
		if (v === null || typeof v !== "object") return v;
		let p = proxies.get(v);
		if (p) return p;
		const read = new Set();
		reads.set(v, read);
		p = new Proxy(v, {
			get(t, k, r) {
				if (typeof k === "string") read.add(k);
				const x = Reflect.get(t, k, r);
				return typeof k === "string" && Object.hasOwn(t, k) ? wrap(x) : x;
			},
			has(t, k) {
				if (typeof k === "string") read.add(k);
				return Reflect.has(t, k);
			},
		});
		proxies.set(v, p);
		return p;
	};
	return { proxy: wrap(root), reads };
}

function strictCheck(v, at, reads, errs) {
	if (Array.isArray(v)) {
		v.forEach((x, i) => strictCheck(x, [...at, i], reads, errs));
		return;
	}
	if (!isObject(v)) return;
	const read = reads.get(v);
	const typed = read !== undefined && read.size > 0;
	for (const [k, x] of Object.entries(v)) {
		if (typed && !read.has(k)) errs.push(`${pathOf([...at, k])}: unknown field`);
		else strictCheck(x, [...at, k], reads, errs);
	}
}

// errors: ajv's, with the messages runValidateFunc put in
function schemaErrors(errors) {
	const byPath = new Map();
	for (const e of errors) {
		const at = e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
		const segs = at.map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
		let msg = e.message;
		if (e.keyword === "enum") msg += ` (${e.params.allowedValues.map((a) => JSON.stringify(a)).join(", ")})`;
		const key = pathOf(segs);
		if (!byPath.has(key)) byPath.set(key, []);
		if (!byPath.get(key).includes(msg)) byPath.get(key).push(msg);
	}
	return [...byPath].map(([p, m]) => `${p}: ${m.join(", ")}`);
}

// The custom resources runosd sends, each from its operator's CRDs as a package of
// kubernetes-models compiles them (package.json pins it): a verified custom domain's Certificate.
const CUSTOM_RESOURCES = new Map([
	["cert-manager.io/v1", "@kubernetes-models/cert-manager/cert-manager.io/v1"],
]);

const modules = new Map();
async function modelFor(apiVersion, kind) {
	if (!modules.has(apiVersion)) {
		// The package exports one module per group/version: kubernetes-models/v1, …/apps/v1.
		const name = CUSTOM_RESOURCES.get(apiVersion) ?? `kubernetes-models/${apiVersion}`;
		modules.set(apiVersion, await import(name).catch(() => null));
	}
	const mod = modules.get(apiVersion);
	const model = mod && Object.hasOwn(mod, kind) ? mod[kind] : null;
	return typeof model === "function" && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

// → list of "path: reason" (empty: valid)
async function check(obj) {
	if (!isObject(obj)) return ["(object): not a JSON object"];
	const { apiVersion, kind } = obj;
	if (apiVersion === undefined) return ["apiVersion: required"];
	if (typeof apiVersion !== "string" || !API_VERSION.test(apiVersion)) {
		return [`apiVersion: ${JSON.stringify(apiVersion)} is not an API version`];
	}
	if (kind === undefined) return ["kind: required"];
	if (typeof kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
		return [`kind: ${JSON.stringify(kind)} is not a kind`];
	}
	if (/(alpha|beta)[0-9]+$/.test(apiVersion)) {
		return [`apiVersion: ${apiVersion} is not a GA version (clusters serve alpha/beta APIs only when asked to, and remove them)`];
	}
	const model = await modelFor(apiVersion, kind);
	if (!model) return [`kind: ${apiVersion} ${kind} is not a kind of the built-in Kubernetes 1.36 API`];

	const errs = [];
	const { proxy, reads } = tracked(obj);
	try {
		// validate() of a model runs the schema's validator on `this`, here the recording proxy
		model.prototype.validate.call(proxy);
	} catch (e) {
		const failed = [`(object): the validator failed: ${e.message}`];
		errs.push(...(Array.isArray(e.errors) ? schemaErrors(e.errors) : failed));
	}
	strictCheck(obj, [], reads, errs);
	const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
	checkMetadata(obj, group, errs);
	return errs;
}

function filesOf(arg, out) {
	if (statSync(arg).isDirectory()) {
		for (const name of readdirSync(arg).sort()) {
			const p = join(arg, name);
			if (statSync(p).isDirectory()) filesOf(p, out);
			else if (name.endsWith(".json")) out.push(p);
		}
	} else {
		out.push(arg);
	}
}

async function main(args) {
	if (args.length === 0 || args.includes("-h") || args.includes("--help")) {
		process.stderr.write("usage: node tests/k8s/validate.mjs FILE|DIR... (JSON Kubernetes objects)\n");
		return 2;
	}
	let ok = 0, failed = 0;
	const fail = (what, reasons) => {
		failed++;
		console.log(`FAIL ${what}: ${reasons.join("; ")}`);
	};
	for (const arg of args) {
		const files = [];
		try {
			filesOf(arg, files);
		} catch (e) {
			fail(arg, [e.message]);
			continue;
		}
		if (files.length === 0) fail(arg, ["no *.json file in this directory"]);
		for (const file of files) {
			let doc;
			try {
				doc = JSON.parse(readFileSync(file, "utf8"));
			} catch (e) {
				fail(file, [`not JSON: ${e.message}`]);
				continue;
			}
			let objects = Array.isArray(doc) ? doc : [doc];
			if (isObject(doc) && doc.apiVersion === "v1" && doc.kind === "List") {
				objects = Array.isArray(doc.items) ? doc.items : [];
				const extra = Object.keys(doc).filter((k) => !["apiVersion", "kind", "metadata", "items"].includes(k));
				if (!Array.isArray(doc.items) || extra.length > 0) {
					fail(file, [`a v1 List has items (an array) and no ${extra.join(", ") || "other field"}`]);
					continue;
				}
			}
			if (objects.length === 0) fail(file, ["no Kubernetes object in this file"]);
			for (const [i, obj] of objects.entries()) {
				const where = objects.length > 1 || Array.isArray(doc) || doc !== obj ? `${file}[${i}]` : file;
				const label = isObject(obj) ? `${obj.kind ?? "?"} ${obj.metadata?.name ?? "?"} ${where}` : `? ? ${where}`;
				const errs = await check(obj);
				if (errs.length > 0) fail(label, errs);
				else {
					ok++;
					console.log(`ok ${label}`);
				}
			}
		}
	}
	if (ok + failed === 0) fail("(arguments)", ["no Kubernetes object given"]);
	console.log(`k8s-validate: ${ok} ok, ${failed} failed`);
	return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
