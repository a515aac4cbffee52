"""Text normalised for matching (mapideas.plumbing.text): place names and pin texts."""

from mapideas.plumbing.text import normalise, words


def test_normalise_folds_accents_and_case_and_collapses_spaces():
    assert normalise("  Rue de l'ÉGLISE  ") == "rue de l'eglise"
    assert normalise("Straße") == "strasse"
    assert normalise("Ĳsselmeer\tkade") == "ijsselmeer kade"


def test_words_split_on_punctuation_and_keep_other_scripts():
    assert words("Pothole! (again) — on Main-Street, 12b") == [
        "pothole", "again", "on", "main", "street", "12b",
    ]  # fmt: skip
    assert words("Улица Ленина") == ["улица", "ленина"]
