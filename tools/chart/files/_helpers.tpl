{{/* The image both Deployments run: repository[:tag][@digest]. */}}
{{- define "llm-egress-guard.image" -}}
{{- .Values.image.repository -}}
{{- with .Values.image.tag }}:{{ . }}{{ end -}}
{{- with .Values.image.digest }}@{{ . }}{{ end -}}
{{- end }}
