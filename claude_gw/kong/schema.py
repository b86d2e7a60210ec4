"""Kong Gateway 3.13 field lists for the entities and plugins claude_gw reads and writes.

Source: the plugin JSON schemas of the Kong docs (Kong/developer.konghq.com
`app/_schemas/gateway/plugins/3.13/AiProxy.json`, `FileLog.json`), summarised in
`../shared/notes/kong.md` section 3. A nested dict is an object; `None` is a leaf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORMAT_VERSION = "3.0"
OLD_FORMAT_VERSIONS = ("1.1",)  # Kong 2.x files; the entities claude_gw reads are the same

ROUTE_TYPES = (
    "audio/v1/audio/speech",
    "audio/v1/audio/transcriptions",
    "audio/v1/audio/translations",
    "image/v1/images/edits",
    "image/v1/images/generations",
    "llm/v1/assistants",
    "llm/v1/batches",
    "llm/v1/chat",
    "llm/v1/completions",
    "llm/v1/embeddings",
    "llm/v1/files",
    "llm/v1/responses",
    "preserve",
    "realtime/v1/realtime",
    "video/v1/videos/generations",
)
LLM_FORMATS = ("anthropic", "bedrock", "cohere", "gemini", "huggingface", "openai")
PROVIDERS = (
    "anthropic",
    "azure",
    "bedrock",
    "cerebras",
    "cohere",
    "dashscope",
    "gemini",
    "huggingface",
    "llama2",
    "mistral",
    "openai",
    "xai",
)
GENAI_CATEGORIES = (
    "audio/speech",
    "audio/transcription",
    "image/generation",
    "text/embeddings",
    "text/generation",
    "video/generation",
)
RESPONSE_STREAMING = ("allow", "always", "deny")
PARAM_LOCATIONS = ("query", "body")
ROUTE_PROTOCOLS = ("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws")

# model.options that claude_gw keeps but does not act on: their type, and Kong's default
# (a value equal to the default is not worth a warning: Kong's dumps write every default).
STRING_OPTIONS = (
    "anthropic_version",
    "azure_api_version",
    "azure_deployment_id",
    "azure_instance",
    "llama2_format",
    "mistral_format",
    "upstream_path",
)
INTEGER_OPTIONS = ("embeddings_dimensions",)
OBJECT_OPTIONS = ("bedrock", "cohere", "dashscope", "gemini", "huggingface")
OPTION_CHOICES = {
    "llama2_format": ("ollama", "openai", "raw"),
    "mistral_format": ("ollama", "openai"),
}
OPTION_DEFAULTS: Mapping[str, Any] = {
    "azure_api_version": "2023-05-15",
    "bedrock": {"embeddings_normalize": False},
    "cohere": {"embedding_input_type": "classification"},
    "dashscope": {"international": True},
}

# auth fields for cloud identities claude_gw does not use, and the defaults Kong dumps for them
CLOUD_AUTH = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "azure_client_id",
    "azure_client_secret",
    "azure_tenant_id",
    "azure_use_managed_identity",
    "gcp_service_account_json",
    "gcp_use_service_account",
)
CLOUD_AUTH_DEFAULTS = {"azure_use_managed_identity": False, "gcp_use_service_account": False}

AI_PROXY: Mapping[str, Any] = {
    "auth": dict.fromkeys(
        (
            "allow_override",
            *CLOUD_AUTH,
            "header_name",
            "header_value",
            "param_location",
            "param_name",
            "param_value",
        )
    ),
    "genai_category": None,
    "llm_format": None,
    "logging": {"log_payloads": None, "log_statistics": None},
    "max_request_body_size": None,
    "model": {
        "name": None,
        "provider": None,
        "options": {
            **dict.fromkeys(
                (
                    "input_cost",
                    "max_tokens",
                    "output_cost",
                    "temperature",
                    "top_k",
                    "top_p",
                    "upstream_url",
                    *STRING_OPTIONS,
                    *INTEGER_OPTIONS,
                )
            ),
            "bedrock": dict.fromkeys(
                (
                    "aws_assume_role_arn",
                    "aws_region",
                    "aws_role_session_name",
                    "aws_sts_endpoint_url",
                    "embeddings_normalize",
                    "performance_config_latency",
                    "video_output_s3_uri",
                )
            ),
            "cohere": dict.fromkeys(("embedding_input_type", "wait_for_model")),
            "dashscope": dict.fromkeys(("international",)),
            "gemini": dict.fromkeys(("api_endpoint", "endpoint_id", "location_id", "project_id")),
            "huggingface": dict.fromkeys(("use_cache", "wait_for_model")),
        },
    },
    "model_name_header": None,
    "response_streaming": None,
    "route_type": None,
}
FILE_LOG: Mapping[str, Any] = {"path": None, "reopen": None, "custom_fields_by_lua": None}
KEY_AUTH: Mapping[str, Any] = dict.fromkeys(
    (
        "key_names",
        "hide_credentials",
        "anonymous",
        "key_in_header",
        "key_in_query",
        "key_in_body",
        "run_on_preflight",
        "realm",
        "identity_realms",
    )
)
PLUGIN_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "ai-proxy": AI_PROXY,
    "file-log": FILE_LOG,
    "key-auth": KEY_AUTH,
}


def unknown_fields(schema: Mapping[str, Any], config: Mapping[str, Any], path: str) -> list[str]:
    """Key paths in `config` that the schema does not have (what Kong rejects as unknown)."""
    found: list[str] = []
    for key, value in config.items():
        where = f"{path}.{key}"
        if key not in schema:
            found.append(where)
        elif isinstance(schema[key], Mapping) and isinstance(value, Mapping):
            found += unknown_fields(schema[key], value, where)
    return found


def is_default(name: str, value: Any) -> bool:
    """Whether an option is unset or at Kong's default (objects: every field null or default)."""
    default = OPTION_DEFAULTS.get(name)
    if isinstance(value, Mapping):
        defaults = default if isinstance(default, Mapping) else {}
        return all(v is None or v == defaults.get(k) for k, v in value.items())
    return value is None or value == default
