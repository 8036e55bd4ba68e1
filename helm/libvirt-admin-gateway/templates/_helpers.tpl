{{/*
Helpers of the libvirt-admin-gateway chart. Every name starts with the chart name so that a parent chart's
helpers never collide with ours.
*/}}

{{/* Chart name, truncated to a DNS label. */}}
{{- define "libvirt-admin-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name alone when it already contains the chart name. */}}
{{- define "libvirt-admin-gateway.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "libvirt-admin-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the pods; they must never change between upgrades. */}}
{{- define "libvirt-admin-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "libvirt-admin-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "libvirt-admin-gateway.labels" -}}
helm.sh/chart: {{ include "libvirt-admin-gateway.chart" . }}
{{ include "libvirt-admin-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* ServiceAccount the pods run as. */}}
{{- define "libvirt-admin-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "libvirt-admin-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: a digest pins the image and wins over the tag. */}}
{{- define "libvirt-admin-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret holding tls.crt, tls.key and ca.crt. */}}
{{- define "libvirt-admin-gateway.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "libvirt-admin-gateway.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/* Secret holding the tokens file. */}}
{{- define "libvirt-admin-gateway.authSecretName" -}}
{{- default (printf "%s-auth" (include "libvirt-admin-gateway.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/* "true" when bearer tokens are configured (an existing Secret or tokens listed in values). */}}
{{- define "libvirt-admin-gateway.tokensEnabled" -}}
{{- if or .Values.auth.existingSecret .Values.auth.tokens }}true{{- end }}
{{- end }}

{{/* "true" when verified client certificates get roles (mutual TLS as a way to authenticate). */}}
{{- define "libvirt-admin-gateway.clientRolesEnabled" -}}
{{- if and .Values.tls.enabled .Values.tls.verifyClients .Values.tls.clientRoles }}true{{- end }}
{{- end }}

{{/* URL scheme the gateway serves, in the upper case probes use. */}}
{{- define "libvirt-admin-gateway.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Name of the container and Service port: https or http. */}}
{{- define "libvirt-admin-gateway.portName" -}}
{{- include "libvirt-admin-gateway.scheme" . | lower }}
{{- end }}

{{/*
Checks what the schema cannot: rules across several values. Renders nothing, or fails the release with a
message that says which value to set.
*/}}
{{- define "libvirt-admin-gateway.validate" -}}
{{- if not .Values.insecure }}
{{- if not .Values.tls.enabled }}
{{- fail "libvirt-admin-gateway: tls.enabled is false: the gateway refuses to serve a pod address in the clear. Enable TLS, or set insecure=true for a trial on a private network." }}
{{- end }}
{{- if not (or (include "libvirt-admin-gateway.tokensEnabled" .) (include "libvirt-admin-gateway.clientRolesEnabled" .)) }}
{{- fail "libvirt-admin-gateway: no authentication: set auth.existingSecret (a Secret with the tokens file) or auth.tokens (role + sha256 of each token), or tls.verifyClients with tls.clientRoles, or set insecure=true for a trial on a private network." }}
{{- end }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (not (and .Values.tls.cert .Values.tls.key)) }}
{{- fail "libvirt-admin-gateway: TLS needs a certificate: set tls.existingSecret (e.g. a cert-manager Certificate's Secret with tls.crt and tls.key) or both tls.cert and tls.key." }}
{{- end }}
{{- if .Values.tls.verifyClients }}
{{- if not .Values.tls.enabled }}
{{- fail "libvirt-admin-gateway: tls.verifyClients needs tls.enabled." }}
{{- end }}
{{- if and (not .Values.tls.existingSecret) (not .Values.tls.ca) }}
{{- fail "libvirt-admin-gateway: tls.verifyClients needs a client CA: tls.ca, or ca.crt in tls.existingSecret." }}
{{- end }}
{{- end }}
{{- if and .Values.tls.clientRoles (not .Values.tls.verifyClients) }}
{{- fail "libvirt-admin-gateway: tls.clientRoles needs tls.verifyClients: roles go to verified client certificates only." }}
{{- end }}
{{- $seen := dict }}
{{- range .Values.desiredStateOverrides }}
{{- if hasKey $seen .name }}
{{- fail (printf "libvirt-admin-gateway: desiredStateOverrides: the name %s is used twice" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- range .Values.daemons }}
{{- if and (contains "?socket=" .) (not (contains "?socket=/run/libvirt/" .)) }}
{{- fail (printf "libvirt-admin-gateway: daemon %s: a ?socket= path must lie under /run/libvirt/, the only host folder mounted" .) }}
{{- end }}
{{- end }}
{{- end }}

{{- /*
The node groups, as JSON {"groups": [...]}: the default group first (name "", .Values.desiredState), then one per
desiredStateOverrides entry. First match wins: override i runs where its label matches and no earlier override's
does; the default group runs where none does (NotIn also matches a node without the label). So the groups are
disjoint and cover every node the chart's nodeSelector picks: no node runs two gateways, none is left out.
*/}}
{{- define "libvirt-admin-gateway.groups" -}}
{{- $fullname := include "libvirt-admin-gateway.fullname" . }}
{{- $excluded := list }}
{{- $groups := list }}
{{- range $o := .Values.desiredStateOverrides }}
{{- $key := keys $o.nodeSelector | first }}
{{- $value := get $o.nodeSelector $key | toString }}
{{- $exprs := prepend $excluded (dict "key" $key "operator" "In" "values" (list $value)) }}
{{- $groups = append $groups (dict "name" $o.name "workload" (printf "%s-%s" $fullname $o.name | trunc 63 | trimSuffix "-") "desiredState" ($o.desiredState | default dict) "exprs" $exprs) }}
{{- $excluded = append $excluded (dict "key" $key "operator" "NotIn" "values" (list $value)) }}
{{- end }}
{{- $groups = prepend $groups (dict "name" "" "workload" $fullname "desiredState" (.Values.desiredState | default dict) "exprs" $excluded) }}
{{- toJson (dict "groups" $groups) }}
{{- end }}
