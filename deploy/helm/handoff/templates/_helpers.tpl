{{/* The chart's name and the release's full name. */}}
{{- define "handoff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "handoff.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The worker kinds: one Deployment each. */}}
{{- define "handoff.kinds" -}}intake dicom ocr packager{{- end -}}

{{/* Labels of everything; dict "root" . "kind" KIND adds the component. */}}
{{- define "handoff.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "handoff.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: handoff
{{- end -}}

{{- define "handoff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "handoff.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .kind }}
app.kubernetes.io/component: {{ .kind }}
{{- end }}
{{- end -}}

{{/* The in-chart NATS cluster's full name, as the NATS chart names it. */}}
{{- define "handoff.natsFullname" -}}
{{- if .Values.nats.fullnameOverride -}}
{{- .Values.nats.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "nats" .Values.nats.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "handoff.natsURL" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc.cluster.local:4222" (include "handoff.natsFullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "natsConnection.url is required without nats.enabled" .Values.natsConnection.url -}}
{{- end -}}
{{- end -}}

{{- define "handoff.natsMonitoring" -}}
{{- if .Values.nats.enabled -}}
{{- printf "%s-headless.%s.svc.cluster.local:8222" (include "handoff.natsFullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "natsConnection.monitoringEndpoint is required for KEDA without nats.enabled" .Values.natsConnection.monitoringEndpoint -}}
{{- end -}}
{{- end -}}

{{/* Secrets: the chart's own, or the existing ones the values name. */}}
{{- define "handoff.s3Secret" -}}
{{- default (printf "%s-s3" (include "handoff.fullname" .)) .Values.s3.existingSecret -}}
{{- end -}}
{{- define "handoff.apiSecret" -}}
{{- default (printf "%s-api" (include "handoff.fullname" .)) .Values.api.existingSecret -}}
{{- end -}}
{{- define "handoff.natsSecret" -}}
{{- default (printf "%s-nats" (include "handoff.fullname" .)) .Values.natsConnection.credentialsSecret -}}
{{- end -}}
{{- define "handoff.natsCreds" -}}
{{- or .Values.natsConnection.credentialsSecret .Values.natsConnection.credentials -}}
{{- end -}}

{{- define "handoff.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- printf "%s/handoff-%s:%s" .root.Values.image.registry .kind $tag -}}
{{- end -}}

{{/*
The HANDOFF_* environment of a kind's container: the settings every
binary reads, the buckets the kind uses, and the kind's own.
*/}}
{{- define "handoff.env" -}}
{{- $root := .root -}}
{{- $kind := .kind -}}
{{- $v := index $root.Values $kind -}}
- name: HANDOFF_NATS_URL
  value: {{ include "handoff.natsURL" $root | quote }}
{{- if include "handoff.natsCreds" $root }}
- name: HANDOFF_NATS_CREDS
  value: /etc/handoff/nats/{{ $root.Values.natsConnection.credentialsKey }}
{{- end }}
- name: HANDOFF_S3_ENDPOINT
  value: {{ required "s3.endpoint is required" $root.Values.s3.endpoint | quote }}
- name: HANDOFF_S3_REGION
  value: {{ $root.Values.s3.region | quote }}
{{- if $root.Values.s3.caSecret }}
- name: HANDOFF_S3_CA
  value: /etc/handoff/s3-ca/{{ $root.Values.s3.caKey }}
{{- end }}
- name: HANDOFF_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "handoff.s3Secret" $root }}
      key: {{ $root.Values.s3.accessKeyKey }}
- name: HANDOFF_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "handoff.s3Secret" $root }}
      key: {{ $root.Values.s3.secretKeyKey }}
- name: HANDOFF_HTTP
  value: {{ printf ":%d" (int $v.port) | quote }}
- name: HANDOFF_LOG_FORMAT
  value: {{ $root.Values.logFormat | quote }}
- name: HANDOFF_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: HANDOFF_REPLICAS
  value: {{ $root.Values.natsConnection.replicas | quote }}
- name: HANDOFF_BUCKET_SUBJECT
  value: {{ $root.Values.bucketSubject | quote }}
{{- if has $kind (list "intake" "packager") }}
- name: HANDOFF_INTAKE_BUCKET
  value: {{ $root.Values.buckets.intake | quote }}
{{- end }}
- name: HANDOFF_DERIVED_BUCKET
  value: {{ $root.Values.buckets.derived | quote }}
{{- if eq $kind "packager" }}
- name: HANDOFF_BUNDLE_BUCKET
  value: {{ $root.Values.buckets.bundles | quote }}
- name: HANDOFF_QUIET_PERIOD
  value: {{ $v.quietPeriod | quote }}
- name: HANDOFF_BUNDLE_LINK_EXPIRY
  value: {{ $v.bundleLinkExpiry | quote }}
{{- end }}
{{- if eq $kind "intake" }}
- name: HANDOFF_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "handoff.apiSecret" $root }}
      key: {{ $root.Values.api.tokenKey }}
- name: HANDOFF_BUNDLE_LINK_EXPIRY
  value: {{ $root.Values.packager.bundleLinkExpiry | quote }}
{{- end }}
{{- if eq $kind "ocr" }}
- name: HANDOFF_OCR_LANG
  value: {{ $v.lang | quote }}
- name: HANDOFF_OCR_WORK_DIR
  value: /tmp
- name: OMP_THREAD_LIMIT
  value: "1"
{{- end }}
- name: HANDOFF_{{ upper $kind }}_WORKERS
  value: {{ $v.workers | quote }}
{{- range $name, $value := $v.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
