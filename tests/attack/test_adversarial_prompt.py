"""The adversarial-prompt search (PEZ): continuous words optimised through their projection onto real words."""
import torch

from sfd_lightning.attack.adversarial_prompt import nearest_words, pez_search


def test_nearest_words_by_cosine():
    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert nearest_words(torch.tensor([[3.0, 0.2], [-0.3, -0.1], [-0.1, 5.0]]), table).tolist() == [0, 2, 1]


def test_the_search_finds_the_real_words_the_objective_wants():
    """Images are the projected words themselves; the objective rewards alignment with rows 7 and 2."""
    table = torch.randn(12, 6, generator=torch.Generator().manual_seed(0))
    wanted = torch.stack([table[7], table[2]])

    def render(z, words):
        return words.expand(z.shape[0], -1, -1)

    def objective(images):
        return -torch.nn.functional.cosine_similarity(images, wanted[None], dim=-1).mean()

    found = pez_search(render, table, objective, m=2, milestones=(0, 60), shape=(1,), batch=2, lr=0.1,
                       generator=torch.Generator().manual_seed(1))
    assert sorted(found) == [0, 60] and found[60].tolist() == [7, 2]
    assert found[0].tolist() != [7, 2]  # it started elsewhere
