{{/* Names ---------------------------------------------------------------------------------------------- */}}

{{- define "trimtab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or the release name when it already contains the chart name; at most 63 characters
less room for the longest suffix the chart adds ("-analyzer-rules"), so every object name stays valid. */}}
{{- define "trimtab.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "trimtab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels; call with (dict "ctx" $ "component" "receiver"). */}}
{{- define "trimtab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trimtab.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "trimtab.labels" -}}
helm.sh/chart: {{ include "trimtab.chart" .ctx }}
{{ include "trimtab.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: trimtab
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of objects that belong to no single component (dashboards, rules). */}}
{{- define "trimtab.commonObjectLabels" -}}
{{ include "trimtab.labels" (dict "ctx" . "component" "trimtab") }}
{{- end }}

{{- define "trimtab.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "trimtab.serviceAccountName" -}}
{{- $sa := index .ctx.Values .component "serviceAccount" }}
{{- if $sa.create }}
{{- default (printf "%s-%s" (include "trimtab.fullname" .ctx) .component) $sa.name }}
{{- else }}
{{- default "default" $sa.name }}
{{- end }}
{{- end }}

{{- define "trimtab.databaseSecretName" -}}
{{- default (printf "%s-database" (include "trimtab.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "trimtab.receiverServiceName" -}}
{{- printf "%s-receiver" (include "trimtab.fullname" .) }}
{{- end }}

{{- define "trimtab.leaseName" -}}
{{- default (printf "%s-analyzer" (include "trimtab.fullname" .)) .Values.analyzer.leaderElection.leaseName }}
{{- end }}

{{/* The agent's token Secret and key: its own, else the bootstrap token's in the combined mode, else
<fullname>-agent-token. Output: "name key". */}}
{{- define "trimtab.agentTokenSecret" -}}
{{- $rw := .Values.agent.remoteWrite }}
{{- if $rw.existingSecret }}
{{- printf "%s %s" $rw.existingSecret $rw.secretKey }}
{{- else if and .Values.controlPlane.enabled .Values.bootstrapToken.existingSecret }}
{{- printf "%s %s" .Values.bootstrapToken.existingSecret .Values.bootstrapToken.secretKey }}
{{- else }}
{{- printf "%s-agent-token %s" (include "trimtab.fullname" .) $rw.secretKey }}
{{- end }}
{{- end }}

{{- define "trimtab.agentRemoteWriteUrl" -}}
{{- if .Values.agent.remoteWrite.url }}
{{- .Values.agent.remoteWrite.url }}
{{- else }}
{{- printf "http://%s.%s.svc:%v/api/v1/write" (include "trimtab.receiverServiceName" .) .Release.Namespace .Values.receiver.service.port }}
{{- end }}
{{- end }}

{{- define "trimtab.agentCluster" -}}
{{- default .Release.Name .Values.agent.cluster }}
{{- end }}

{{/* Option name → environment variable, for the `config` maps (README's configuration tables). */}}
{{- define "trimtab.serverEnvNames" -}}
seriesCacheSize: TRIMTAB_SERIES_CACHE_SIZE
maxBodyBytes: TRIMTAB_MAX_BODY_BYTES
maxDecodedBytes: TRIMTAB_MAX_DECODED_BYTES
maxLabelsPerSeries: TRIMTAB_MAX_LABELS_PER_SERIES
maxLabelNameLength: TRIMTAB_MAX_LABEL_NAME_LENGTH
maxLabelValueLength: TRIMTAB_MAX_LABEL_VALUE_LENGTH
maxFuture: TRIMTAB_MAX_FUTURE
maxSampleAge: TRIMTAB_MAX_SAMPLE_AGE
ingestionRate: TRIMTAB_INGESTION_RATE
ingestionBurst: TRIMTAB_INGESTION_BURST
queryMaxSamples: TRIMTAB_QUERY_MAX_SAMPLES
queryTimeout: TRIMTAB_QUERY_TIMEOUT
queryLookbackDelta: TRIMTAB_QUERY_LOOKBACK_DELTA
evaluationInterval: TRIMTAB_EVALUATION_INTERVAL
externalUrl: TRIMTAB_EXTERNAL_URL
shutdownTimeout: TRIMTAB_SHUTDOWN_TIMEOUT
{{- end }}

{{- define "trimtab.agentEnvNames" -}}
scrapeTargets: TRIMTAB_SCRAPE_TARGETS
scrapeTimeout: TRIMTAB_SCRAPE_TIMEOUT
kubeFacts: TRIMTAB_KUBE_FACTS
kubeletUrl: TRIMTAB_KUBELET_URL
kubeletTokenFile: TRIMTAB_KUBELET_TOKEN_FILE
kubeletCaFile: TRIMTAB_KUBELET_CA_FILE
ruleFiles: TRIMTAB_RULE_FILES
keepMetrics: TRIMTAB_KEEP_METRICS
dropLabels: TRIMTAB_DROP_LABELS
shards: TRIMTAB_SHARDS
maxSamplesPerSend: TRIMTAB_MAX_SAMPLES_PER_SEND
batchSendDeadline: TRIMTAB_BATCH_SEND_DEADLINE
minBackoff: TRIMTAB_MIN_BACKOFF
maxBackoff: TRIMTAB_MAX_BACKOFF
retryOn429: TRIMTAB_RETRY_ON_429
remoteTimeout: TRIMTAB_REMOTE_TIMEOUT
ownerLookupQps: TRIMTAB_OWNER_LOOKUP_QPS
ownerLookupBurst: TRIMTAB_OWNER_LOOKUP_BURST
shutdownTimeout: TRIMTAB_SHUTDOWN_TIMEOUT
{{- end }}

{{/* EnvVars of a `config` map; call with (dict "config" .Values.x.config "names" "trimtab.serverEnvNames"
"path" "x.config"). Lists become comma-separated values, as the CLI expects. */}}
{{- define "trimtab.configEnv" -}}
{{- $names := include .names . | fromYaml }}
{{- range $key, $value := .config }}
{{- $env := index $names $key | default "" }}
{{- if not $env }}
{{- fail (printf "%s.%s: unknown option (known: %s)" $.path $key (keys $names | sortAlpha | join ", ")) }}
{{- end }}
- name: {{ $env }}
  value: {{ if kindIs "slice" $value }}{{ join "," $value | quote }}{{ else }}{{ toString $value | quote }}{{ end }}
{{- end }}
{{- end }}

{{/* Environment shared by the server roles (receiver, analyzer, migrate): the database and the log level. */}}
{{- define "trimtab.serverEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "trimtab.databaseSecretName" . }}
      key: {{ .Values.database.secretKey }}
- name: TRIMTAB_DB_POOL_MAX
  value: {{ .Values.database.poolMax | quote }}
- name: TRIMTAB_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* The bootstrap token, for every role that starts the server (receiver and analyzer both create tenant
`default` on an empty database: whichever starts first must use the configured token). */}}
{{- define "trimtab.bootstrapEnv" -}}
{{- if .Values.bootstrapToken.existingSecret }}
- name: TRIMTAB_BOOTSTRAP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.bootstrapToken.existingSecret }}
      key: {{ .Values.bootstrapToken.secretKey }}
{{- end }}
{{- end }}

{{/* Probe from values: (dict "probe" .Values.x.probes.liveness "path" "/-/healthy"). */}}
{{- define "trimtab.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{- range $k, $v := .probe }}
{{ $k }}: {{ $v }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints, each given the component's selector labels unless it has its own. */}}
{{- define "trimtab.topologySpread" -}}
{{- $sel := include "trimtab.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml }}
{{- range .constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $sel) }}
{{- end }}
- {{ toYaml $c | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* The emptyDir every pod mounts at /tmp (the root filesystem is read-only). */}}
{{- define "trimtab.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{/* Checks JSON Schema cannot express; each message names the values key to change. */}}
{{- define "trimtab.validate" -}}
{{- if and (not .Values.controlPlane.enabled) (not .Values.agent.enabled) }}
{{- fail "controlPlane.enabled and agent.enabled are both false: nothing to install; enable at least one" }}
{{- end }}
{{- if .Values.controlPlane.enabled }}
{{- $as := .Values.receiver.autoscaling }}
{{- if and $as.enabled (gt (int $as.minReplicas) (int $as.maxReplicas)) }}
{{- fail (printf "receiver.autoscaling.minReplicas (%v) is greater than receiver.autoscaling.maxReplicas (%v)" $as.minReplicas $as.maxReplicas) }}
{{- end }}
{{- if and (eq .Values.analyzer.leaderElection.mode "none") (gt (int .Values.analyzer.replicas) 1) }}
{{- fail (printf "analyzer.replicas is %v but analyzer.leaderElection.mode is none: every replica would act as leader; use mode kubernetes or postgres, or 1 replica" .Values.analyzer.replicas) }}
{{- end }}
{{- if and .Values.receiver.ingress.enabled (not .Values.receiver.ingress.hosts) }}
{{- fail "receiver.ingress.hosts: give at least one host when receiver.ingress.enabled is true" }}
{{- end }}
{{- end }}
{{- if .Values.agent.enabled }}
{{- if and (not .Values.controlPlane.enabled) (not .Values.agent.remoteWrite.url) }}
{{- fail "agent.remoteWrite.url is required when controlPlane.enabled is false (agent-only mode): the URL of the Trimtab receiver, e.g. https://TRIMTAB-HOST/api/v1/write" }}
{{- end }}
{{- if and (not .Values.controlPlane.enabled) (not .Values.agent.cluster) }}
{{- fail "agent.cluster is required when controlPlane.enabled is false (agent-only mode): the name this cluster's series carry in the `cluster` label" }}
{{- end }}
{{- $b := .Values.agent.buffer }}
{{- if gt (int $b.memoryMiB) (int $b.maxMiB) }}
{{- fail (printf "agent.buffer.memoryMiB (%v) is greater than agent.buffer.maxMiB (%v)" $b.memoryMiB $b.maxMiB) }}
{{- end }}
{{- if le (int $b.volumeMiB) (int $b.maxMiB) }}
{{- fail (printf "agent.buffer.volumeMiB (%v) must be greater than agent.buffer.maxMiB (%v): the kubelet evicts a pod whose emptyDir outgrows its sizeLimit" $b.volumeMiB $b.maxMiB) }}
{{- end }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rules shared by several components. An empty `to` allows any destination on the port. */}}
{{- define "trimtab.np.dns" -}}
- {{ with .Values.networkPolicy.dns.to }}to:
    {{- toYaml . | nindent 4 }}
  {{ end }}ports:
    {{- toYaml .Values.networkPolicy.dns.ports | nindent 4 }}
{{- end }}

{{- define "trimtab.np.database" -}}
- {{ with .Values.networkPolicy.database.to }}to:
    {{- toYaml . | nindent 4 }}
  {{ end }}ports:
    - port: {{ .Values.database.port }}
      protocol: TCP
{{- end }}

{{- define "trimtab.np.apiServer" -}}
- {{ with .Values.networkPolicy.apiServer.to }}to:
    {{- toYaml . | nindent 4 }}
  {{ end }}ports:
    {{- toYaml .Values.networkPolicy.apiServer.ports | nindent 4 }}
{{- end }}
