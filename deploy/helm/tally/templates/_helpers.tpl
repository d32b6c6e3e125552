{{- define "tally.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tally.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tally.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag must name a release (a mutable tag such as latest makes every pod a different version)" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "tally.secretName" -}}
{{- default (include "tally.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The environment every Tally container gets: the ConfigMap and the Secret. */}}
{{- define "tally.envFrom" -}}
- configMapRef:
    name: {{ include "tally.fullname" . }}
- secretRef:
    name: {{ include "tally.secretName" . }}
{{- end -}}
