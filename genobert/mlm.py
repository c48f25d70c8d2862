"""The model `pretrain` trains: a plain `BertForMaskedLM` whose loss runs the MLM head on the
masked positions only.

Stock BERT projects every position onto the vocabulary and then ignores the ~85 % that are not
masked; with k-mer or BPE vocabularies (4,000+ rows) that projection costs about as much as an
encoder layer. Here the encoder runs as usual, the head sees only the rows with a label, and the
loss is the same cross-entropy. The weights are BERT's own, so the saved directory is a plain
`BertForMaskedLM` (``config.architectures`` says so) that `AutoModelForMaskedLM` loads.

Unlike stock BERT, the loss honours the Trainer's ``num_items_in_batch`` (masked tokens over all
accumulation steps and devices): with gradient accumulation or DDP it is the mean over every masked
token of the optimiser step, rather than a sum of per-micro-batch means.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import BertForMaskedLM
from transformers.modeling_outputs import MaskedLMOutput


class MaskedHeadBertForMaskedLM(BertForMaskedLM):
    """`BertForMaskedLM` with ``logits`` for the masked positions only, shape (masked, vocab),
    when ``labels`` are given; without labels it is stock BERT (every position)."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None,
                num_items_in_batch=None, **kwargs):
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids, **kwargs)
        hidden = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           return_dict=True, **kwargs).last_hidden_state
        picked = labels != -100
        logits = self.cls(hidden[picked])
        loss = F.cross_entropy(logits.float(), labels[picked], reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else picked.sum()
        loss = loss / torch.clamp(torch.as_tensor(count, device=loss.device), min=1)
        return MaskedLMOutput(loss=loss, logits=logits)

    def save_pretrained(self, *args, **kwargs):
        """Saved as what it is on disk: a plain `BertForMaskedLM` (the name goes into
        ``config.architectures``; the weights are the same)."""
        self.__class__ = BertForMaskedLM
        try:
            return self.save_pretrained(*args, **kwargs)
        finally:
            self.__class__ = MaskedHeadBertForMaskedLM


