"""Stable Diffusion's latent UNet with its CLIP text encoder (diffusers/transformers), as one network.

``SDUNet(x_t, t, prompts)`` returns the UNet's prediction (eps for SD 1.x; wrap it in
:class:`~sfd_lightning.diffusion.VPDenoiser` with ``prediction: v`` for v-models) given prompts.
The text encoder and tokenizer are frozen and shared by the teacher, fake score and generator
copies (never trained, never checkpointed); prompt embeddings are cached, so a prompt seen again
costs nothing. The empty prompt, classifier-free guidance's null condition, is encoded as
``negative_prompt``.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.pipeline_parts import check_text_parts, read_network_config
from sfd_lightning.io.pretrained import load_pretrained
from sfd_lightning.models.components.pipeline_family import PipelineFamily
from sfd_lightning.models.components.prompt_cache import PromptCache


class SharedTextEncoder(PromptCache):
    """Tokenizer + frozen CLIP text encoder + embedding cache; copies of the owning network share one instance."""

    def __init__(self, tokenizer, text_encoder: nn.Module, negative_prompt: str, cache_size: int):
        super().__init__(negative_prompt, cache_size)
        self.tokenizer, self.encoder = tokenizer, text_encoder.eval().requires_grad_(False)
        self._word_ids: Optional[torch.Tensor] = None

    def encode_texts(self, texts: List[str], device: torch.device) -> List[Tuple[torch.Tensor]]:
        self.encoder.to(device)
        tokens = self.tokenizer(
            texts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(device)
        return [(emb,) for emb in self.encoder(tokens)[0]]

    def __call__(self, prompts: Sequence[str], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return self.embeddings(prompts, device, dtype)[0]  # (B, L, D)

    def vocabulary_table(self) -> torch.Tensor:
        """(V, D) input embeddings of the whole-word tokens (:meth:`real_token_ids`)."""
        return self.encoder.get_input_embeddings().weight[self.real_token_ids()]

    def real_token_ids(self) -> torch.Tensor:
        """Ids of the tokens that are whole words (CLIP's word-final ``...</w>`` tokens): decoded to text and typed
        again, each gives itself back, so an adversarial prompt made of them is a prompt anyone can type."""
        if self._word_ids is None:
            rows = len(self.encoder.get_input_embeddings().weight)
            vocab = self.tokenizer.get_vocab()
            self._word_ids = torch.tensor(
                sorted(i for token, i in vocab.items() if token.endswith("</w>") and i < rows)
            )
        return self._word_ids

    def token_text(self, rows) -> str:
        """The text of rows ``rows`` of :meth:`vocabulary_table`."""
        ids = self.real_token_ids()[torch.as_tensor(list(rows), dtype=torch.long)]
        return self.tokenizer.decode(ids.tolist()).strip()

    def word_embedding(self, word: str) -> torch.Tensor:
        """The input embedding (D,) of ``word``: the mean of its tokens' rows of the embedding table."""
        ids = self.tokenizer(word, add_special_tokens=False).input_ids
        if not ids:
            raise ConfigError("concept", f"{word!r} tokenizes to nothing")
        table = self.encoder.get_input_embeddings().weight
        return table[torch.tensor(ids, device=table.device)].mean(dim=0).detach().clone()

    def with_tokens(
        self, context: Sequence[str], tokens: torch.Tensor, device: torch.device, dtype: torch.dtype
    ) -> torch.Tensor:
        """Embeddings (B, L, D) of each context prompt followed by pseudo-words whose input embeddings are ``tokens[i]``
        ((D,): textual inversion's one new word; (m, D): an adversarial prompt's m words), differentiable in
        ``tokens``; never cached."""
        words = (tokens if tokens.dim() == 3 else tokens[:, None, :]).to(device)  # (B, m, D)
        m, length, eos = words.shape[1], self.tokenizer.model_max_length, self.tokenizer.eos_token_id
        ids = self.tokenizer(
            list(context), padding="max_length", max_length=length, truncation=True, return_tensors="pt"
        ).input_ids
        rows = torch.arange(len(ids))
        first = (ids == eos).int().argmax(dim=1).clamp(max=length - 1 - m)  # where the end token was: the new words
        ids[rows, first + m] = eos
        place = torch.zeros(ids.shape, dtype=torch.long)  # 0: the context's own token; k + 1: new word k
        for k in range(m):
            ids[rows, first + k] = self.tokenizer.bos_token_id  # a placeholder id below the end token's; replaced
            place[rows, first + k] = k + 1
        place = place.to(device)
        padded = torch.cat([torch.zeros_like(words[:, :1]), words], dim=1)  # (B, m + 1, D): row 0 unused

        def replace(module, inputs, output):
            chosen = padded.to(output.dtype).gather(1, place[..., None].expand(-1, -1, output.shape[-1]))
            return torch.where(place[..., None] > 0, chosen, output)

        self.encoder.to(device)
        handle = self.encoder.get_input_embeddings().register_forward_hook(replace)
        try:
            return self.encoder(ids.to(device))[0].to(dtype)
        finally:
            handle.remove()


class SDUNet(nn.Module, PipelineFamily):
    """Text-conditional latent UNet: ``forward(x_t, t, prompts) -> eps_hat (or v)`` on (B, 4, S, S) latents."""

    noise_kind = "vp"  # the denoiser adapter it takes: VPDenoiser
    pipeline_class = "StableDiffusionPipeline"

    def __init__(
        self,
        pretrained: str = "runwayml/stable-diffusion-v1-5",
        unet_subfolder: Optional[str] = "unet",
        text_encoder_subfolder: str = "text_encoder",
        tokenizer_subfolder: str = "tokenizer",
        negative_prompt: str = "",
        unet_config: Optional[Dict[str, Any]] = None,
        gradient_checkpointing: bool = False,
        attention: str = "sdpa",
        cache_size: int = 4096,
    ):
        """
        Args:
            pretrained: hub id or local folder of a Stable Diffusion pipeline (or of a one-step
                generator saved in the same layout, for the generator's initialisation).
            unet_subfolder: the UNet's folder inside ``pretrained``.
            text_encoder_subfolder: the CLIP text encoder's folder.
            tokenizer_subfolder: the tokenizer's folder.
            negative_prompt: what the null condition (CFG's unconditional branch) encodes; e.g. NSFW keywords.
            unet_config: ``UNet2DConditionModel`` arguments for a randomly initialised UNet (tests) instead
                of loading one; the text encoder and tokenizer are still read from ``pretrained``.
            gradient_checkpointing: recompute UNet blocks in the backward pass (less memory, more time).
            attention: ``sdpa`` (PyTorch's scaled-dot-product attention) or ``default`` (the model's own).
            cache_size: prompt embeddings kept.
        """
        super().__init__()
        from diffusers import UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        field = "net.init_args.pretrained"
        check_text_parts(None, pretrained, field, "SDUNet", (text_encoder_subfolder, tokenizer_subfolder))
        if unet_config is not None:
            self.unet = UNet2DConditionModel(**unet_config)
        else:
            if (
                read_network_config(UNet2DConditionModel, pretrained, unet_subfolder, field).get("addition_embed_type")
                == "text_time"
            ):
                raise ConfigError(
                    field, f"{pretrained!r} holds an SDXL UNet (added text and time conditions); use SDXLUNet"
                )
            self.unet = load_pretrained(UNet2DConditionModel, pretrained, unet_subfolder, field)
        text_encoder = load_pretrained(CLIPTextModel, pretrained, text_encoder_subfolder, field)
        tokenizer = load_pretrained(CLIPTokenizer, pretrained, tokenizer_subfolder, field)
        if text_encoder.config.hidden_size != self.unet.config.cross_attention_dim:
            raise ConfigError(
                field,
                f"text encoder width {text_encoder.config.hidden_size} does not match the UNet's "
                f"cross_attention_dim {self.unet.config.cross_attention_dim}",
            )
        self.text = SharedTextEncoder(tokenizer, text_encoder, negative_prompt, cache_size)
        if attention == "sdpa":
            from diffusers.models.attention_processor import AttnProcessor2_0

            self.unet.set_attn_processor(AttnProcessor2_0())
        elif attention != "default":
            raise ConfigError("net.init_args.attention", f"must be sdpa or default, got {attention!r}")
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        cfg = self.unet.config
        self.in_channels, self.resolution, self.num_classes = cfg.in_channels, cfg.sample_size, None

    def load_generator_folder(self, path: str) -> None:
        """Replace the UNet's weights with a (distilled one-step) UNet saved in diffusers layout
        (``path`` or ``path/unet``), strictly; the text encoder is unchanged."""
        import os

        from diffusers import UNet2DConditionModel

        from sfd_lightning.io.source import Source
        from sfd_lightning.io.strict import load_state_into

        subfolder = "unet" if os.path.isdir(os.path.join(path, "unet")) else None
        unet = load_pretrained(UNet2DConditionModel, path, subfolder, "model.init_ckpt")
        load_state_into(self.unet, unet.state_dict(), Source(path, "model.init_ckpt"), "the teacher's UNet")

    def condition_token(self, word: str) -> torch.Tensor:
        """The CLIP input embedding of ``word``: where an embedding attack on a concept starts."""
        return self.text.word_embedding(word)

    def vocabulary_table(self) -> torch.Tensor:
        """(V, D) CLIP input embeddings of real tokens: what adversarial prompts pick from."""
        return self.text.vocabulary_table()

    def token_text(self, rows) -> str:
        return self.text.token_text(rows)

    def forward(self, x: torch.Tensor, t: torch.Tensor, prompts: Sequence[str]) -> torch.Tensor:
        if isinstance(prompts, torch.Tensor):
            raise TypeError("SDUNet is conditioned on prompts (a list of strings), not class labels")
        if isinstance(prompts, ConditionTokens):  # a learned word after each context prompt
            context = prompts.context or [""] * len(prompts)
            emb = self.text.with_tokens(context, prompts.tokens, x.device, self.unet.dtype)
        else:
            emb = self.text(prompts, x.device, self.unet.dtype)
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        return self.unet(x, t, encoder_hidden_states=emb, return_dict=False)[0]
