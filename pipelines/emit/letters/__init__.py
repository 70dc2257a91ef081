"""Letters to members (docs/spec/rules.md §9): pure builders of the letter rows and their Typst templates.

- `language`: L-LANGUAGE, the texts of every letter (texts/nl.yaml, texts/fr.yaml) and the nl-BE / fr-BE
  formatting of dates, months and money (Babel);
- `appeal`: L-APPEAL, the day of receipt, the appeal deadline and the file fee;
- `content`: one row per letter (L-DECISION, L-RECOVERY, L-REQUEST, L-INVOICE), its id and the print order;
- `templates/`: the Typst templates that flows/io/letters.py compiles into letters/NNNN.pdf.
"""
