{{/* Names ------------------------------------------------------------------------------------------------ */}}
{{- define "orchestrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "orchestrator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<suffix>", kept under 63 characters. */}}
{{- define "orchestrator.componentName" -}}
{{- printf "%s-%s" (include "orchestrator.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{- define "orchestrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "orchestrator.labels" -}}
helm.sh/chart: {{ include "orchestrator.chart" . }}
{{ include "orchestrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "orchestrator.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "orchestrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orchestrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "web") */}}
{{- define "orchestrator.componentLabels" -}}
{{ include "orchestrator.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "orchestrator.componentSelectorLabels" -}}
{{ include "orchestrator.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "orchestrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "orchestrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "orchestrator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "orchestrator.secretName" -}}
{{- default (include "orchestrator.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Settings ----------------------------------------------------------------------------------------------- */}}

{{/* Host names the chart always allows: the Service's in-cluster names and the Ingress hosts. */}}
{{- define "orchestrator.allowedHosts" -}}
{{- $hosts := list }}
{{- range (splitList "," (toString (.Values.config.ALLOWED_HOSTS | default ""))) }}
{{- if trim . }}{{ $hosts = append $hosts (trim .) }}{{ end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ $hosts = append $hosts .host }}{{ end }}
{{- end }}
{{- $svc := include "orchestrator.fullname" . }}
{{- $hosts = concat $hosts (list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.%s" $svc .Release.Namespace .Values.clusterDomain)) }}
{{- join "," (uniq $hosts) }}
{{- end }}

{{- define "orchestrator.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- range (splitList "," (toString (.Values.config.CSRF_TRUSTED_ORIGINS | default ""))) }}
{{- if trim . }}{{ $origins = append $origins (trim .) }}{{ end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ $origins = append $origins (printf "https://%s" .host) }}{{ end }}
{{- end }}
{{- join "," (uniq $origins) }}
{{- end }}

{{/* A value as an environment string. YAML numbers arrive as float64: 31536000 must not become "3.1536e+07". */}}
{{- define "orchestrator.envString" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* The ConfigMap's data: every non-empty `config` entry, plus the values the chart derives. */}}
{{- define "orchestrator.configData" -}}
{{- $data := dict }}
{{- range $key, $value := .Values.config }}
{{- if not (kindIs "invalid" $value) }}
{{- $s := include "orchestrator.envString" $value }}
{{- if ne $s "" }}{{ $_ := set $data $key $s }}{{ end }}
{{- end }}
{{- end }}
{{- $_ := set $data "ALLOWED_HOSTS" (include "orchestrator.allowedHosts" .) }}
{{- $origins := include "orchestrator.csrfTrustedOrigins" . }}
{{- if $origins }}{{ $_ := set $data "CSRF_TRUSTED_ORIGINS" $origins }}{{ end }}
{{- if and (not (hasKey $data "CONSOLE_BASE_URL")) .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $_ := set $data "CONSOLE_BASE_URL" (printf "%s://%s" (ternary "https" "http" (or (gt (len .Values.ingress.tls) 0) .Values.ingress.assumeHttps)) $host) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* The Secret's data: every non-empty `secrets` entry. */}}
{{- define "orchestrator.secretData" -}}
{{- range $key, $value := .Values.secrets }}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") }}
{{ $key }}: {{ include "orchestrator.envString" $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render when the chart would deploy something that cannot work. */}}
{{- define "orchestrator.validate" -}}
{{- if not .Values.existingSecret }}
{{- range $key := list "SECRET_KEY" "DATABASE_URL" }}
{{- if not (index $.Values.secrets $key) }}
{{- fail (printf "secrets.%s is required (or set existingSecret to a Secret that holds it)" $key) }}
{{- end }}
{{- end }}
{{- if not (or .Values.secrets.REDIS_URL .Values.secrets.CELERY_BROKER_URL) }}
{{- fail "secrets.REDIS_URL is required: many replicas need a shared broker and cache (or set existingSecret)" }}
{{- end }}
{{- if hasPrefix "sqlite" (toString .Values.secrets.DATABASE_URL) }}
{{- fail "secrets.DATABASE_URL: SQLite cannot be shared by several pods; use PostgreSQL" }}
{{- end }}
{{- if lt (len (toString .Values.secrets.SECRET_KEY)) 50 }}
{{- fail "secrets.SECRET_KEY must be at least 50 characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')" }}
{{- end }}
{{- end }}
{{- range $name := list "DATA_DIR" "PROMETHEUS_MULTIPROC_DIR" }}
{{- if not (hasPrefix "/" (toString (index $.Values.config $name))) }}
{{- fail (printf "config.%s must be an absolute path (an emptyDir is mounted there)" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level pieces shared by every workload ------------------------------------------------------------ */}}

{{- define "orchestrator.podAnnotations" -}}
checksum/config: {{ include "orchestrator.configData" . | sha256sum }}
checksum/secret: {{ printf "%s%s" (include "orchestrator.secretData" .) .Values.existingSecret | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "orchestrator.envFrom" -}}
- configMapRef:
    name: {{ include "orchestrator.fullname" . }}
- secretRef:
    name: {{ include "orchestrator.secretName" . }}
{{- end }}

{{/* The pod IP is allowed as a Host so kubelet probes and Prometheus scrapes (which use it) are not refused. */}}
{{- define "orchestrator.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ALLOWED_HOSTS
  value: {{ printf "$(POD_IP),%s" (include "orchestrator.allowedHosts" .) | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "orchestrator.volumes" -}}
- name: tmp
  emptyDir:
    {{- with .Values.volumes.tmp.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
- name: data
  emptyDir:
    {{- with .Values.volumes.data.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
- name: metrics
  emptyDir:
    {{- with .Values.volumes.metrics.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
- name: audit-anchors
  {{- if .Values.volumes.auditAnchors.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.volumes.auditAnchors.existingClaim }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}

{{- define "orchestrator.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .Values.config.DATA_DIR }}
- name: metrics
  mountPath: {{ .Values.config.PROMETHEUS_MULTIPROC_DIR }}
- name: audit-anchors
  mountPath: {{ .Values.config.AUDIT_ANCHOR_DIR }}
{{- end }}

{{- define "orchestrator.podSpecCommon" -}}
serviceAccountName: {{ include "orchestrator.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}
