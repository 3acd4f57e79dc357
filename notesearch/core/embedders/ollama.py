"""The Ollama provider: embedding models served by Ollama (https://ollama.com), on this computer
or another, through its OpenAI-compatible endpoint (`/v1/embeddings`)."""

from __future__ import annotations

from collections.abc import Mapping

from notesearch.core.embedders.openai_api import OpenAIEmbedder, _Failure
from notesearch.core.embedders.registry import Option, Provider
from notesearch.core.errors import EmbedderError

DEFAULT_URL = "http://localhost:11434/v1"
#: Embedding models in Ollama's library, as `ollama pull` names them (nomic-embed-text is the
#: most pulled; bge-m3 is multilingual, like the local default).
MODELS = ("nomic-embed-text", "mxbai-embed-large", "bge-m3", "snowflake-arctic-embed",
          "all-minilm")


class OllamaEmbedder(OpenAIEmbedder):
    """The OpenAI-compatible embedder, with Ollama's own remedies in its errors.

    Remote by the project's rule (see OpenAIEmbedder): a server is an HTTP endpoint whose
    onward path notesearch cannot see, so private notes are withheld even from localhost.
    """

    def _error(self, failure: _Failure, attempts: int) -> EmbedderError:
        error = super()._error(failure, attempts)
        if failure.kind in ("connect", "timeout"):
            hint = " Is Ollama running? Start it with `ollama serve`."
        elif failure.status == 404:
            hint = f" Download the model first: `ollama pull {self.model}`."
        else:
            return error
        return type(error)(str(error) + hint)


def build(options: Mapping[str, str]) -> OllamaEmbedder:
    """Return an embedder for `options["model"]` at `options["base_url"]` (no key needed)."""
    return OllamaEmbedder(model=options["model"], base_url=options["base_url"] or DEFAULT_URL,
                          api_key=options.get("api_key") or None)


PROVIDER = Provider(
    name="ollama",
    label="Ollama",
    description=("an Ollama server embeds note text (on this computer by default); private "
                 "notes are never sent"),
    remote=True,
    options=(Option("model", "Model", MODELS[0], MODELS),
             Option("base_url", "Base URL", DEFAULT_URL, placeholder=f"{DEFAULT_URL} (default)")),
    build=build,
)
