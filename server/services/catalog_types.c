/* The catalog's data: one row per service type (include/services/catalog.h).
 * A new type is a row here and nothing else. Each values_template uses only
 * keys documented in that chart's values.yaml at the chart version named
 * (docs/services.md says which chart and why). Read-only after start. */
#include "catalog_internal.h"

/* Traefik routes an http type's Ingress on its websecure entry point with
 * TLS (the cluster's certificate); both annotations are Traefik's own. */
#define INGRESS_ANNOTATIONS                                                                        \
	"{\"traefik.ingress.kubernetes.io/router.entrypoints\": \"websecure\","                    \
	" \"traefik.ingress.kubernetes.io/router.tls\": \"true\"}"

const struct service_type catalog_types[] = {
	{
		.type = "postgresql",
		.name = "PostgreSQL",
		.category = "databases",
		.description = "The relational database, one instance on the official image",
		.versions = { "14.23", "15.18", "16.14", "17.10", "18.4" },
		.default_version = "18.4",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 10240,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "postgresql", 5432, "TCP" } },
		.credentials = { "app", true, "app", "postgresql", 5432 },
		.chart = { "https://groundhog2k.github.io/helm-charts/", "postgres", "1.6.7" },
		.pod_security = "restricted",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"podSecurityContext\": {\"fsGroup\": 999, \"supplementalGroups\": [999],"
			"  \"seccompProfile\": {\"type\": \"RuntimeDefault\"}},"
			" \"settings\": {\"existingSecret\": \"{{secretName}}\","
			"  \"superuserPassword\": {\"secretKey\": \"admin-password\"}},"
			" \"userDatabase\": {\"existingSecret\": \"{{secretName}}\","
			"  \"name\": {\"secretKey\": \"database\"}, \"user\": {\"secretKey\": "
			"\"username\"},"
			"  \"password\": {\"secretKey\": \"password\"}},"
			" \"storage\": {\"requestedSize\": \"{{storageSize}}\","
			"  \"className\": \"{{storageClass}}\"},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "mysql",
		.name = "MySQL",
		.category = "databases",
		.description = "The relational database, one instance on the official image",
		.versions = { "8.0.45", "8.4.9", "8.4.10", "9.7.0", "9.7.1" },
		.default_version = "8.4.10",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 10240,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "mysql", 3306, "TCP" } },
		.credentials = { "app", true, "app", "mysql", 3306 },
		.chart = { "https://groundhog2k.github.io/helm-charts/", "mysql", "3.1.3" },
		.pod_security = "restricted",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"podSecurityContext\": {\"fsGroup\": 999, \"supplementalGroups\": [999],"
			"  \"seccompProfile\": {\"type\": \"RuntimeDefault\"}},"
			" \"settings\": {\"existingSecret\": \"{{secretName}}\","
			"  \"rootPassword\": {\"secretKey\": \"admin-password\"}},"
			" \"userDatabase\": {\"existingSecret\": \"{{secretName}}\","
			"  \"name\": {\"secretKey\": \"database\"}, \"user\": {\"secretKey\": "
			"\"username\"},"
			"  \"password\": {\"secretKey\": \"password\"}},"
			" \"storage\": {\"requestedSize\": \"{{storageSize}}\","
			"  \"className\": \"{{storageClass}}\"},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "clickhouse",
		.name = "ClickHouse",
		.category = "databases",
		.description = "Column-oriented analytics database (Altinity operator and build)",
		.versions = { "24.8.14.10459", "25.3.6.10034" },
		.default_version = "25.3.6.10034",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 10240,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "http", 8123, "TCP" }, { "native", 9000, "TCP" } },
		.credentials = { "default", true, NULL, "clickhouse", 9000 },
		.chart = { "https://helm.altinity.com", "clickhouse", "0.3.12" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"clickhouse\": {"
			"  \"defaultUser\": {\"password_secret_name\": \"{{secretName}}\","
			"   \"allowExternalAccess\": true},"
			"  \"replicasCount\": \"{{replicas}}\","
			"  \"persistence\": {\"enabled\": true, \"size\": \"{{storageSize}}\","
			"   \"storageClass\": \"{{storageClass}}\"},"
			"  \"image\": {\"tag\": \"{{version}}.altinitystable\"},"
			"  \"affinity\": \"{{affinity}}\"},"
			" \"operator\": {\"enabled\": true}}",
	},
	{
		.type = "ferretdb",
		.name = "FerretDB",
		.category = "databases",
		.description = "MongoDB-compatible document database on PostgreSQL with DocumentDB",
		.versions = { "17-0.106.0-ferretdb-2.5.0", "17-0.107.0-ferretdb-2.7.0" },
		.default_version = "17-0.107.0-ferretdb-2.7.0",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 10240,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "postgresql", 5432, "TCP" } },
		.credentials = { "app", true, "app", "postgresql", 5432 },
		.chart = { "https://groundhog2k.github.io/helm-charts/", "postgres", "1.6.7" },
		.pod_security = "baseline",
		.values_template = "{\"fullnameOverride\": \"{{osid}}\","
				   " \"image\": {\"registry\": \"ghcr.io\","
				   "  \"repository\": \"ferretdb/postgres-documentdb\", \"tag\": "
				   "\"{{version}}\"},"
				   " \"settings\": {\"existingSecret\": \"{{secretName}}\","
				   "  \"superuserPassword\": {\"secretKey\": \"admin-password\"}},"
				   " \"userDatabase\": {\"existingSecret\": \"{{secretName}}\","
				   "  \"name\": {\"secretKey\": \"database\"}, \"user\": "
				   "{\"secretKey\": \"username\"},"
				   "  \"password\": {\"secretKey\": \"password\"}},"
				   " \"storage\": {\"requestedSize\": \"{{storageSize}}\","
				   "  \"className\": \"{{storageClass}}\"},"
				   " \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "valkey",
		.name = "Valkey",
		.category = "caching",
		.description = "In-memory key-value store, Redis-compatible (the project's chart)",
		.versions = { "8.1.4", "9.0.2", "9.1.0", "9.1.1" },
		.default_version = "9.1.1",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 1024,
		.min_storage_mb = 256,
		.max_storage_mb = 65536,
		.ports = { { "valkey", 6379, "TCP" } },
		.credentials = { "default", true, NULL, "redis", 6379 },
		.chart = { "https://valkey.io/valkey-helm/", "valkey", "0.11.0" },
		.pod_security = "restricted",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"dataStorage\": {\"enabled\": true, \"requestedSize\": "
			"\"{{storageSize}}\","
			"  \"className\": \"{{storageClass}}\"},"
			" \"auth\": {\"enabled\": true, \"usersExistingSecret\": "
			"\"{{secretName}}\","
			"  \"aclUsers\": {\"default\": {\"permissions\": \"~* &* +@all\","
			"   \"passwordKey\": \"password\"}}},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "rabbitmq",
		.name = "RabbitMQ",
		.category = "messaging",
		.description = "Message broker (AMQP 0-9-1, streams), clustered by peer discovery",
		.versions = { "4.1.8", "4.2.7", "4.2.8", "4.3.2", "4.3.3" },
		.default_version = "4.3.3",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 5,
		.default_storage_mb = 8192,
		.min_storage_mb = 1024,
		.max_storage_mb = 262144,
		.ports = { { "amqp", 5672, "TCP" }, { "management", 15672, "TCP" } },
		.http = true,
		.flags = { { "prometheus", CATALOG_FLAG_BOOLEAN, "false",
			     "Enable the rabbitmq_prometheus plugin (port 15692)" } },
		.credentials = { "app", true, NULL, "amqp", 5672 },
		.chart = { "https://groundhog2k.github.io/helm-charts/", "rabbitmq", "2.3.6" },
		.pod_security = "baseline",
		.values_template = "{\"fullnameOverride\": \"{{osid}}\","
				   " \"image\": {\"tag\": \"{{version}}-management\"},"
				   " \"replicaCount\": \"{{replicas}}\","
				   " \"authentication\": {\"existingSecret\": \"{{secretName}}\","
				   "  \"user\": {\"secretKey\": \"username\"},"
				   "  \"password\": {\"secretKey\": \"password\"},"
				   "  \"erlangCookie\": {\"secretKey\": \"admin-password\"}},"
				   " \"k8sPeerDiscoveryPlugin\": {\"enabled\": true},"
				   " \"prometheusPlugin\": {\"enabled\": \"{{flag:prometheus}}\"},"
				   " \"storage\": {\"requestedSize\": \"{{storageSize}}\","
				   "  \"className\": \"{{storageClass}}\"},"
				   " \"ingress\": {\"enabled\": true, \"className\": \"traefik\","
				   "  \"annotations\": " INGRESS_ANNOTATIONS ","
				   "  \"hosts\": [{\"host\": \"{{host}}\","
				   "   \"paths\": [{\"path\": \"/\", \"pathType\": \"Prefix\"}]}]},"
				   " \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "kafka",
		.name = "Apache Kafka",
		.category = "messaging",
		.description =
			"Event streaming platform in KRaft mode (combined controller+broker)",
		.versions = { "3.9.0", "4.0.0" },
		.default_version = "4.0.0",
		.default_replicas = 3,
		.min_replicas = 1,
		.max_replicas = 9,
		.default_storage_mb = 8192,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "client", 9092, "TCP" } },
		.credentials = { "app", true, NULL, "kafka", 9092 },
		.chart = { "oci://registry-1.docker.io/bitnamicharts", "kafka", "32.4.4" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"global\": {\"security\": {\"allowInsecureImages\": true}},"
			" \"image\": {\"repository\": \"bitnamilegacy/kafka\", \"tag\": "
			"\"{{version}}\"},"
			" \"sasl\": {\"client\": {\"users\": [\"app\"], \"passwords\": "
			"\"{{secret:password}}\"},"
			"  \"interbroker\": {\"password\": \"{{secret:admin-password}}\"},"
			"  \"controller\": {\"password\": \"{{secret:admin-password}}\"}},"
			" \"controller\": {\"replicaCount\": \"{{replicas}}\","
			"  \"persistence\": {\"size\": \"{{storageSize}}\","
			"   \"storageClass\": \"{{storageClass}}\"},"
			"  \"affinity\": \"{{affinity}}\"}}",
	},
	{
		.type = "minio",
		.name = "MinIO",
		.category = "storage",
		.description = "S3-compatible object storage, one server (last community release)",
		.versions = { "RELEASE.2024-04-18T19-09-19Z", "RELEASE.2024-12-18T13-15-44Z" },
		.default_version = "RELEASE.2024-12-18T13-15-44Z",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 51200,
		.min_storage_mb = 1024,
		.max_storage_mb = 4194304,
		.ports = { { "s3", 9000, "TCP" }, { "console", 9001, "TCP" } },
		.http = true,
		.credentials = { "app", true, "app", "http", 9000 },
		.chart = { "https://charts.min.io/", "minio", "5.4.0" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"mode\": \"standalone\","
			" \"existingSecret\": \"\","
			" \"rootUser\": \"{{secret:username}}\", \"rootPassword\": "
			"\"{{secret:password}}\","
			" \"buckets\": [{\"name\": \"app\", \"policy\": \"none\", \"purge\": "
			"false}],"
			" \"persistence\": {\"enabled\": true, \"size\": \"{{storageSize}}\","
			"  \"storageClass\": \"{{storageClass}}\"},"
			" \"consoleIngress\": {\"enabled\": true, \"ingressClassName\": "
			"\"traefik\","
			"  \"annotations\": " INGRESS_ANNOTATIONS ", \"path\": \"/\","
			"  \"hosts\": [\"{{host}}\"]},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "longhorn",
		.name = "Longhorn",
		.category = "storage",
		.description =
			"Replicated block storage over the nodes' disks; gives a StorageClass",
		.versions = { "v1.11.3", "v1.12.0", "v1.12.1" },
		.default_version = "v1.12.1",
		.default_replicas = 3,
		.min_replicas = 1,
		.max_replicas = 5,
		.ports = { { "ui", 80, "TCP" } },
		.credentials = { NULL, false, NULL, "http", 80 },
		.chart = { "https://charts.longhorn.io", "longhorn", "1.12.1" },
		.pod_security = "privileged",
		.values_template =
			"{\"image\": {\"longhorn\": {"
			"  \"manager\": {\"tag\": \"{{version}}\"}, \"engine\": {\"tag\": "
			"\"{{version}}\"},"
			"  \"instanceManager\": {\"tag\": \"{{version}}\"},"
			"  \"ui\": {\"tag\": \"{{version}}\"}}},"
			" \"persistence\": {\"createStorageClass\": false, \"defaultClass\": false,"
			"  \"defaultClassReplicaCount\": \"{{replicas}}\"},"
			" \"defaultSettings\": {\"defaultReplicaCount\": \"{{replicas}}\"}}",
	},
	{
		.type = "harbor",
		.name = "Harbor",
		.category = "storage",
		.description =
			"Container image registry, on PostgreSQL, Valkey and MinIO of the cluster",
		.versions = { "2.15.1" },
		.default_version = "2.15.1",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 3,
		.ports = { { "http", 80, "TCP" } },
		.http = true,
		.requires = { { "postgresOsid", "postgresql", true },
			      { "valkeyOsid", "valkey", true },
			      { "minioOsid", "minio", true } },
		.credentials = { "admin", true, NULL, "https", 443 },
		.chart = { "https://helm.goharbor.io", "harbor", "1.19.1" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"externalURL\": \"https://{{host}}\","
			" \"expose\": {\"type\": \"ingress\", \"tls\": {\"enabled\": false},"
			"  \"ingress\": {\"hosts\": {\"core\": \"{{host}}\"}, \"className\": "
			"\"traefik\","
			"   \"annotations\": " INGRESS_ANNOTATIONS "}},"
			" \"existingSecretAdminPassword\": \"{{secretName}}\","
			" \"existingSecretAdminPasswordKey\": \"password\","
			" \"persistence\": {\"imageChartStorage\": {\"type\": \"s3\","
			"  \"s3\": {\"region\": \"us-east-1\", \"bucket\": "
			"\"{{require:minioOsid:database}}\","
			"   \"accesskey\": \"{{secret:minio-username}}\","
			"   \"secretkey\": \"{{secret:minio-password}}\","
			"   \"regionendpoint\": "
			"\"http://{{require:minioOsid:host}}:{{require:minioOsid:port}}\"}}},"
			" \"core\": {\"replicas\": \"{{replicas}}\", \"affinity\": "
			"\"{{affinity}}\"},"
			" \"portal\": {\"replicas\": \"{{replicas}}\"},"
			" \"registry\": {\"replicas\": \"{{replicas}}\"},"
			" \"database\": {\"type\": \"external\", \"external\": {"
			"  \"host\": \"{{require:postgresOsid:host}}\","
			"  \"port\": \"{{require:postgresOsid:port}}\","
			"  \"username\": \"{{require:postgresOsid:username}}\","
			"  \"password\": \"{{secret:postgresql-password}}\","
			"  \"coreDatabase\": \"{{require:postgresOsid:database}}\", \"sslmode\": "
			"\"disable\"}},"
			" \"redis\": {\"type\": \"external\", \"external\": {"
			"  \"addr\": \"{{require:valkeyOsid:host}}:{{require:valkeyOsid:port}}\","
			"  \"username\": \"{{require:valkeyOsid:username}}\","
			"  \"password\": \"{{secret:valkey-password}}\"}}}",
	},
	{
		.type = "grafana",
		.name = "Grafana",
		.category = "monitoring",
		.description = "Dashboards and alerting; its state in PostgreSQL of the cluster",
		.versions = { "12.4.3", "13.0.2", "13.1.3", "13.2.0" },
		.default_version = "13.2.0",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 3,
		.ports = { { "http", 80, "TCP" } },
		.http = true,
		.requires = { { "postgresOsid", "postgresql", true } },
		.credentials = { "admin", true, NULL, "https", 443 },
		.chart = { "https://grafana-community.github.io/helm-charts", "grafana",
			   "12.11.1" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"replicas\": \"{{replicas}}\","
			" \"admin\": {\"existingSecret\": \"{{secretName}}\", \"userKey\": "
			"\"username\","
			"  \"passwordKey\": \"password\"},"
			" \"envValueFrom\": {\"GF_DATABASE_PASSWORD\": {\"secretKeyRef\": {"
			"  \"name\": \"{{secretName}}\", \"key\": \"postgresql-password\"}}},"
			" \"grafana.ini\": {\"database\": {\"type\": \"postgres\","
			"  \"host\": "
			"\"{{require:postgresOsid:host}}:{{require:postgresOsid:port}}\","
			"  \"name\": \"{{require:postgresOsid:database}}\","
			"  \"user\": \"{{require:postgresOsid:username}}\"},"
			"  \"server\": {\"root_url\": \"https://{{host}}\"}},"
			" \"ingress\": {\"enabled\": true, \"ingressClassName\": \"traefik\","
			"  \"annotations\": " INGRESS_ANNOTATIONS ", \"hosts\": [\"{{host}}\"]},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "prometheus",
		.name = "Prometheus",
		.category = "monitoring",
		.description = "Metrics database and scraper (server only; no node exporters)",
		.versions = { "v3.11.3", "v3.12.0", "v3.13.2", "v3.14.0" },
		.default_version = "v3.14.0",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 8192,
		.min_storage_mb = 1024,
		.max_storage_mb = 1048576,
		.ports = { { "http", 80, "TCP" } },
		.flags = { { "retention", CATALOG_FLAG_STRING, "\"15d\"",
			     "How long samples are kept (Prometheus duration: 15d, 12h)" } },
		.credentials = { NULL, false, NULL, "http", 80 },
		.chart = { "https://prometheus-community.github.io/helm-charts", "prometheus",
			   "29.27.0" },
		.pod_security = "baseline",
		.values_template =
			"{\"server\": {\"fullnameOverride\": \"{{osid}}\","
			"  \"image\": {\"tag\": \"{{version}}\"},"
			"  \"retention\": \"{{flag:retention}}\","
			"  \"persistentVolume\": {\"enabled\": true, \"size\": \"{{storageSize}}\","
			"   \"storageClass\": \"{{storageClass}}\"},"
			"  \"affinity\": \"{{affinity}}\"},"
			" \"alertmanager\": {\"enabled\": false},"
			" \"kube-state-metrics\": {\"enabled\": false},"
			" \"prometheus-node-exporter\": {\"enabled\": false},"
			" \"prometheus-pushgateway\": {\"enabled\": false}}",
	},
	{
		.type = "ollama",
		.name = "Ollama",
		.category = "ai",
		.description = "Runs open large language models; the models are kept on its volume",
		.versions = { "0.32.9", "0.32.13", "0.32.14", "0.32.15" },
		.default_version = "0.32.15",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 30720,
		.min_storage_mb = 5120,
		.max_storage_mb = 1048576,
		.ports = { { "http", 11434, "TCP" } },
		.flags = { { "gpu", CATALOG_FLAG_BOOLEAN, "false",
			     "Ask for one NVIDIA GPU (the node needs the NVIDIA device plugin)" } },
		.credentials = { NULL, false, NULL, "http", 11434 },
		.chart = { "https://helm.otwld.com/", "ollama", "1.77.0" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"ollama\": {\"gpu\": {\"enabled\": \"{{flag:gpu}}\"}},"
			" \"persistentVolume\": {\"enabled\": true, \"size\": \"{{storageSize}}\","
			"  \"storageClass\": \"{{storageClass}}\"},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "litellm",
		.name = "LiteLLM",
		.category = "ai",
		.description = "OpenAI-compatible gateway to many model APIs; keys and spend in "
			       "PostgreSQL",
		.versions = { "v1.80.12" },
		.default_version = "v1.80.12",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 5,
		.ports = { { "http", 4000, "TCP" } },
		.http = true,
		.requires = { { "postgresOsid", "postgresql", true } },
		.credentials = { NULL, true, NULL, "https", 443 },
		.chart = { "oci://ghcr.io/berriai", "litellm-helm", "1.1.0" },
		.pod_security = "baseline",
		.values_template = "{\"fullnameOverride\": \"{{osid}}\","
				   " \"replicaCount\": \"{{replicas}}\","
				   " \"image\": {\"tag\": \"main-{{version}}\"},"
				   " \"masterkeySecretName\": \"{{secretName}}\","
				   " \"masterkeySecretKey\": \"password\","
				   " \"db\": {\"useExisting\": true, \"deployStandalone\": false,"
				   "  \"endpoint\": \"{{require:postgresOsid:host}}\","
				   "  \"database\": \"{{require:postgresOsid:database}}\","
				   "  \"secret\": {\"name\": \"{{secretName}}\","
				   "   \"usernameKey\": \"postgresql-username\","
				   "   \"passwordKey\": \"postgresql-password\"}},"
				   " \"ingress\": {\"enabled\": true, \"className\": \"traefik\","
				   "  \"annotations\": " INGRESS_ANNOTATIONS ","
				   "  \"hosts\": [{\"host\": \"{{host}}\","
				   "   \"paths\": [{\"path\": \"/\", \"pathType\": \"Prefix\"}]}]},"
				   " \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "open-webui",
		.name = "Open WebUI",
		.category = "ai",
		.description = "Chat interface for the models of an Ollama instance",
		.versions = { "0.9.6", "0.10.1", "0.10.2", "0.11.0" },
		.default_version = "0.11.0",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 1,
		.default_storage_mb = 2048,
		.min_storage_mb = 1024,
		.max_storage_mb = 102400,
		.ports = { { "http", 80, "TCP" } },
		.http = true,
		.requires = { { "ollamaOsid", "ollama", true } },
		.credentials = { NULL, false, NULL, "https", 443 },
		.chart = { "https://helm.openwebui.com/", "open-webui", "16.0.0" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"ollama\": {\"enabled\": false},"
			" \"pipelines\": {\"enabled\": false},"
			" \"ollamaUrls\": "
			"[\"http://{{require:ollamaOsid:host}}:{{require:ollamaOsid:port}}\"],"
			" \"persistence\": {\"enabled\": true, \"size\": \"{{storageSize}}\","
			"  \"storageClass\": \"{{storageClass}}\"},"
			" \"ingress\": {\"enabled\": true, \"class\": \"traefik\","
			"  \"annotations\": " INGRESS_ANNOTATIONS ", \"host\": \"{{host}}\"},"
			" \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "cert-manager",
		.name = "cert-manager",
		.category = "platform",
		.platform = true,
		.description =
			"Issues and renews TLS certificates (ACME) for the cluster's endpoints",
		.versions = { "v1.21.1" },
		.default_version = "v1.21.1",
		.default_replicas = 1,
		.min_replicas = 1,
		.max_replicas = 3,
		.ports = { { "webhook", 443, "TCP" } },
		.credentials = { NULL, false, NULL, "https", 443 },
		.chart = { "https://charts.jetstack.io", "cert-manager", "v1.21.1" },
		.pod_security = "restricted",
		.values_template = "{\"fullnameOverride\": \"{{osid}}\","
				   " \"replicaCount\": \"{{replicas}}\","
				   " \"crds\": {\"enabled\": true, \"keep\": true},"
				   " \"affinity\": \"{{affinity}}\"}",
	},
	{
		.type = "traefik",
		.name = "Traefik",
		.category = "platform",
		.platform = true,
		.description = "Ingress controller: the cluster's HTTPS entry for http services",
		.versions = { "v3.6.15", "v3.7.9", "v3.7.10", "v3.7.11" },
		.default_version = "v3.7.11",
		.default_replicas = 2,
		.min_replicas = 1,
		.max_replicas = 5,
		.ports = { { "web", 80, "TCP" }, { "websecure", 443, "TCP" } },
		.credentials = { NULL, false, NULL, "https", 443 },
		.chart = { "https://traefik.github.io/charts", "traefik", "41.3.0" },
		.pod_security = "baseline",
		.values_template =
			"{\"fullnameOverride\": \"{{osid}}\","
			" \"image\": {\"tag\": \"{{version}}\"},"
			" \"deployment\": {\"replicas\": \"{{replicas}}\"},"
			" \"ingressClass\": {\"enabled\": true, \"isDefaultClass\": true,"
			"  \"name\": \"traefik\"},"
			" \"affinity\": \"{{affinity}}\"}",
	},
};

const size_t catalog_types_count = sizeof(catalog_types) / sizeof(catalog_types[0]);
