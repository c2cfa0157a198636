using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Reads BPE tokenizers from Hugging Face files (tokenizer.json, or GPT-2's vocab.json + merges.txt) into a checked
/// <see cref="BpeDefinition"/>. Every problem is one <see cref="AttnScopeException"/> naming the file and what is wrong.
/// </summary>
internal static class BpeFileReader
{
    private sealed class Bad(string message) : Exception(message);

    /// <summary>Reads a tokenizer.json whose model.type is "BPE".</summary>
    public static BpeDefinition FromTokenizerJson(string path)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"tokenizer file not found: '{path}'");
        TokenizerLimits.CheckFileSize(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new Bad("the top level is not a JSON object");
            var model = Member(root, "model", JsonValueKind.Object, "");
            var type = OptionalString(model, "type", "model");
            if (type != "BPE") throw new Bad($"model.type is {(type is null ? "missing" : $"\"{type}\"")}, not \"BPE\"");
            if (OptionalString(model, "continuing_subword_prefix", "model") is { Length: > 0 } || OptionalString(model, "end_of_word_suffix", "model") is { Length: > 0 })
                throw new Bad("model has a continuing_subword_prefix or end_of_word_suffix (not a GPT-2 or Llama style BPE)");

            var added = ReadAddedTokens(root);
            var vocab = ReadVocab(Member(model, "vocab", JsonValueKind.Object, "model"), "model.vocab", added.Count);
            CheckAddedIds(added, vocab.Count);
            var mergesElement = Member(model, "merges", JsonValueKind.Array, "model");
            var merges = ReadMerges(mergesElement.EnumerateArray().Select((m, i) => ParseMerge(m, i)), mergesElement.GetArrayLength(), vocab, "model.merges");

            var normalizers = root.TryGetProperty("normalizer", out var n) ? ReadNormalizer(n, "normalizer") : [];
            var preTokenizers = root.TryGetProperty("pre_tokenizer", out var p) ? ReadPreTokenizer(p, "pre_tokenizer") : [];
            bool byteLevel = preTokenizers.Any(s => s is ByteLevelStep);
            bool sentencePiece = preTokenizers.Any(s => s is MetaspaceStep) ||
                                 normalizers.Any(s => s is PrependStep { Prefix: "▁" } or ReplaceStep { Content: "▁" });
            if (byteLevel == sentencePiece)
                throw new Bad(byteLevel
                    ? "it mixes a ByteLevel pre-tokenizer with SentencePiece's \"▁\" handling"
                    : "the BPE model has neither a ByteLevel pre-tokenizer (GPT-2 style) nor SentencePiece's \"▁\" handling (Llama style); other BPE setups are not supported");

            var (hasTemplate, bos, eos) = root.TryGetProperty("post_processor", out var pp) ? ReadTemplate(pp) : (false, null, null);
            return new BpeDefinition
            {
                Origin = path,
                Flavour = byteLevel ? BpeFlavour.ByteLevel : BpeFlavour.SentencePiece,
                Vocab = vocab, Merges = merges, Added = added,
                Normalizers = normalizers, PreTokenizers = preTokenizers,
                ByteFallback = OptionalBool(model, "byte_fallback", "model") ?? false,
                UnknownToken = OptionalString(model, "unk_token", "model"),
                FuseUnknown = OptionalBool(model, "fuse_unk", "model") ?? false,
                IgnoreMerges = OptionalBool(model, "ignore_merges", "model") ?? false,
                HasTemplate = hasTemplate, TemplateBos = bos, TemplateEos = eos,
            };
        }
        catch (Bad e) { throw new AttnScopeException($"'{path}' is not a usable tokenizer.json: {e.Message}"); }
        catch (JsonException e) { throw new AttnScopeException($"'{path}' is not valid JSON: {e.Message}"); }
    }

    /// <summary>Reads GPT-2's vocab.json and merges.txt (byte-level, GPT-2 split, no prefix space).</summary>
    public static BpeDefinition FromVocabAndMerges(string vocabPath, string mergesPath)
    {
        foreach (var f in new[] { vocabPath, mergesPath })
        {
            if (!File.Exists(f)) throw new AttnScopeException($"tokenizer file not found: '{f}'");
            TokenizerLimits.CheckFileSize(f);
        }
        Dictionary<string, int> vocab;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(vocabPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new Bad("it is not a JSON object of token → id");
            vocab = ReadVocab(doc.RootElement, "the vocabulary", 0);
        }
        catch (Bad e) { throw new AttnScopeException($"'{vocabPath}' is not a usable vocab.json: {e.Message}"); }
        catch (JsonException e) { throw new AttnScopeException($"'{vocabPath}' is not valid JSON: {e.Message}"); }

        List<(string, string)> merges;
        try
        {
            var lines = File.ReadAllLines(mergesPath, Encoding.UTF8);
            var rules = new List<(string, string)>();
            for (int i = 0; i < lines.Length; i++)
            {
                var line = lines[i].TrimEnd('\r');
                if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
                var parts = line.Split(' ');
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                    throw new Bad($"line {i + 1} is not two tokens separated by one space: \"{Short(line)}\"");
                rules.Add((parts[0], parts[1]));
            }
            merges = ReadMerges(rules, rules.Count, vocab, "merges");
        }
        catch (Bad e) { throw new AttnScopeException($"'{mergesPath}' is not a usable merges.txt: {e.Message}"); }

        // GPT-2 keeps <|endoftext|> in its vocabulary; it is a control token matched whole.
        var added = vocab.TryGetValue("<|endoftext|>", out var eot) ? new List<AddedToken> { new(eot, "<|endoftext|>", true) } : [];
        return new BpeDefinition
        {
            Origin = vocabPath, Flavour = BpeFlavour.ByteLevel, Vocab = vocab, Merges = merges, Added = added,
            PreTokenizers = [new ByteLevelStep(AddPrefixSpace: false, UseRegex: true)],
        };
    }

    private static JsonElement Member(JsonElement obj, string name, JsonValueKind kind, string where)
    {
        var full = where.Length == 0 ? name : where + "." + name;
        if (!obj.TryGetProperty(name, out var v)) throw new Bad($"{full} is missing");
        if (v.ValueKind != kind) throw new Bad($"{full} is {Describe(v.ValueKind)}, expected {Describe(kind)}");
        return v;
    }

    private static string? OptionalString(JsonElement obj, string name, string where)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new Bad($"{where}.{name} is {Describe(v.ValueKind)}, expected a string");
        return v.GetString();
    }

    private static bool? OptionalBool(JsonElement obj, string name, string where)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw new Bad($"{where}.{name} is {Describe(v.ValueKind)}, expected true or false");
        return v.GetBoolean();
    }

    private static string Describe(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", _ => "null",
    };

    private static int ReadId(JsonElement v, string what, int limit)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var id))
            throw new Bad($"{what} has id {(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : Describe(v.ValueKind))}, expected a whole number");
        if (id < 0 || id >= limit)
            throw new Bad($"{what} has id {id}, outside 0..{limit - 1} (ids must be below the number of tokens the file declares, and at most {TokenizerLimits.MaxVocabulary:N0})");
        return (int)id;
    }

    private static Dictionary<string, int> ReadVocab(JsonElement vocabElement, string where, int addedCount)
    {
        int count = 0;
        foreach (var _ in vocabElement.EnumerateObject())
            if (++count > TokenizerLimits.MaxVocabulary) throw new Bad($"{where} has more than {TokenizerLimits.MaxVocabulary:N0} entries");
        int limit = (int)Math.Min(TokenizerLimits.MaxVocabulary, (long)count + addedCount);
        var vocab = new Dictionary<string, int>(count, StringComparer.Ordinal);
        var seen = new HashSet<int>();
        foreach (var p in vocabElement.EnumerateObject())
        {
            var id = ReadId(p.Value, $"{where} entry \"{Short(p.Name)}\"", limit);
            if (!seen.Add(id)) throw new Bad($"{where} gives id {id} to more than one token (\"{Short(p.Name)}\" is one)");
            if (!vocab.TryAdd(p.Name, id)) throw new Bad($"{where} lists \"{Short(p.Name)}\" twice");
        }
        if (vocab.Count == 0) throw new Bad($"{where} is empty");
        return vocab;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        if (!root.TryGetProperty("added_tokens", out var arr) || arr.ValueKind == JsonValueKind.Null) return [];
        if (arr.ValueKind != JsonValueKind.Array) throw new Bad($"added_tokens is {Describe(arr.ValueKind)}, expected an array");
        int n = arr.GetArrayLength();
        if (n > TokenizerLimits.MaxVocabulary) throw new Bad($"added_tokens has more than {TokenizerLimits.MaxVocabulary:N0} entries");
        var list = new List<AddedToken>(n);
        int i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            var where = $"added_tokens[{i++}]";
            if (t.ValueKind != JsonValueKind.Object) throw new Bad($"{where} is {Describe(t.ValueKind)}, expected an object");
            var content = OptionalString(t, "content", where);
            if (string.IsNullOrEmpty(content)) throw new Bad($"{where} has no content");
            if (!t.TryGetProperty("id", out var idElement)) throw new Bad($"{where} has no id");
            var id = ReadId(idElement, where, TokenizerLimits.MaxVocabulary); // checked against the vocabulary size below
            list.Add(new AddedToken(id, content, OptionalBool(t, "special", where) ?? false));
        }
        return list;
    }

    private static void CheckAddedIds(List<AddedToken> added, int vocabCount)
    {
        int limit = (int)Math.Min(TokenizerLimits.MaxVocabulary, (long)vocabCount + added.Count);
        foreach (var a in added)
            if (a.Id >= limit)
                throw new Bad($"added token \"{Short(a.Content)}\" has id {a.Id}, outside 0..{limit - 1} (the file declares {vocabCount:N0} vocabulary entries and {added.Count:N0} added tokens)");
    }

    private static (string, string) ParseMerge(JsonElement m, int index)
    {
        if (m.ValueKind == JsonValueKind.String)
        {
            var parts = m.GetString()!.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new Bad($"model.merges[{index}] \"{Short(m.GetString()!)}\" is not two tokens separated by one space");
            return (parts[0], parts[1]);
        }
        if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 &&
            m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            return (m[0].GetString()!, m[1].GetString()!);
        throw new Bad($"model.merges[{index}] is {Describe(m.ValueKind)}, expected \"left right\" or [\"left\", \"right\"]");
    }

    private static List<(string, string)> ReadMerges(IEnumerable<(string Left, string Right)> rules, int declared, Dictionary<string, int> vocab, string where)
    {
        if (declared > TokenizerLimits.MaxMerges) throw new Bad($"{where} has {declared:N0} rules, more than {TokenizerLimits.MaxMerges:N0}");
        var list = new List<(string, string)>(declared);
        int i = 0;
        foreach (var (l, r) in rules)
        {
            if (l.Contains(' ') || r.Contains(' '))
                throw new Bad($"{where}[{i}] has a token with a space (\"{Short(l)}\" \"{Short(r)}\"); such merges cannot be read");
            foreach (var part in new[] { l, r, l + r })
                if (!vocab.ContainsKey(part))
                    throw new Bad($"{where}[{i}] (\"{Short(l)}\" + \"{Short(r)}\") uses \"{Short(part)}\", which is not in the vocabulary");
            list.Add((l, r));
            i++;
        }
        return list;
    }

    private static List<NormalizerStep> ReadNormalizer(JsonElement n, string where)
    {
        if (n.ValueKind == JsonValueKind.Null) return [];
        if (n.ValueKind != JsonValueKind.Object) throw new Bad($"{where} is {Describe(n.ValueKind)}, expected an object or null");
        var type = OptionalString(n, "type", where);
        switch (type)
        {
            case "Sequence":
                var list = new List<NormalizerStep>();
                int i = 0;
                foreach (var s in Member(n, "normalizers", JsonValueKind.Array, where).EnumerateArray())
                    list.AddRange(ReadNormalizer(s, $"{where}.normalizers[{i++}]"));
                return list;
            case "NFC": return [new UnicodeFormStep(NormalizationForm.FormC)];
            case "NFD": return [new UnicodeFormStep(NormalizationForm.FormD)];
            case "NFKC": return [new UnicodeFormStep(NormalizationForm.FormKC)];
            case "NFKD": return [new UnicodeFormStep(NormalizationForm.FormKD)];
            case "Lowercase": return [new LowercaseStep()];
            case "Prepend":
                return [new PrependStep(OptionalString(n, "prepend", where) ?? throw new Bad($"{where} (Prepend) has no prepend string"))];
            case "Replace":
                var pattern = Member(n, "pattern", JsonValueKind.Object, where);
                var literal = OptionalString(pattern, "String", where + ".pattern")
                              ?? throw new Bad($"{where} (Replace) has a regex pattern; only literal String patterns are supported");
                return [new ReplaceStep(literal, OptionalString(n, "content", where) ?? throw new Bad($"{where} (Replace) has no content"))];
            default:
                throw new Bad($"{where} has type {(type is null ? "missing" : $"\"{type}\"")}; supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace");
        }
    }

    private static List<PreTokenizerStep> ReadPreTokenizer(JsonElement p, string where)
    {
        if (p.ValueKind == JsonValueKind.Null) return [];
        if (p.ValueKind != JsonValueKind.Object) throw new Bad($"{where} is {Describe(p.ValueKind)}, expected an object or null");
        var type = OptionalString(p, "type", where);
        switch (type)
        {
            case "Sequence":
                var list = new List<PreTokenizerStep>();
                int i = 0;
                foreach (var s in Member(p, "pretokenizers", JsonValueKind.Array, where).EnumerateArray())
                    list.AddRange(ReadPreTokenizer(s, $"{where}.pretokenizers[{i++}]"));
                return list;
            case "ByteLevel":
                return [new ByteLevelStep(OptionalBool(p, "add_prefix_space", where) ?? true, OptionalBool(p, "use_regex", where) ?? true)];
            case "Digits":
                return [new DigitsStep(OptionalBool(p, "individual_digits", where) ?? false)];
            case "Split":
            {
                var pattern = Member(p, "pattern", JsonValueKind.Object, where);
                var regexText = OptionalString(pattern, "Regex", where + ".pattern");
                var literal = OptionalString(pattern, "String", where + ".pattern");
                if (regexText is null && literal is null) throw new Bad($"{where}.pattern has neither Regex nor String");
                Regex regex;
                try { regex = new Regex(regexText ?? Regex.Escape(literal!), RegexOptions.CultureInvariant, PreTokenizerStep.RegexTimeout); }
                catch (ArgumentException e) { throw new Bad($"{where}.pattern is not a regex .NET can run: {e.Message}"); }
                var behaviorText = OptionalString(p, "behavior", where) ?? "Isolated";
                if (!Enum.TryParse<SplitBehavior>(behaviorText, out var behavior) || !Enum.IsDefined(behavior))
                    throw new Bad($"{where}.behavior \"{Short(behaviorText)}\" is not one of {string.Join(", ", Enum.GetNames<SplitBehavior>())}");
                return [new SplitStep(regex, behavior, OptionalBool(p, "invert", where) ?? false)];
            }
            case "Metaspace":
            {
                var replacement = OptionalString(p, "replacement", where) ?? "▁";
                if (replacement.Length != 1) throw new Bad($"{where}.replacement must be one character");
                var schemeText = OptionalString(p, "prepend_scheme", where);
                PrependScheme scheme = schemeText switch
                {
                    null => OptionalBool(p, "add_prefix_space", where) == false ? PrependScheme.Never : PrependScheme.Always,
                    "always" => PrependScheme.Always, "first" => PrependScheme.First, "never" => PrependScheme.Never,
                    _ => throw new Bad($"{where}.prepend_scheme \"{Short(schemeText)}\" is not always, first or never"),
                };
                return [new MetaspaceStep(replacement[0], scheme, OptionalBool(p, "split", where) ?? true)];
            }
            default:
                throw new Bad($"{where} has type {(type is null ? "missing" : $"\"{type}\"")}; supported: Sequence, ByteLevel, Split, Digits, Metaspace");
        }
    }

    /// <summary>The special tokens a TemplateProcessing post-processor puts around a single text.</summary>
    private static (bool HasTemplate, string? Bos, string? Eos) ReadTemplate(JsonElement pp)
    {
        if (pp.ValueKind != JsonValueKind.Object) return (false, null, null);
        var type = pp.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type == "Sequence" && pp.TryGetProperty("processors", out var ps) && ps.ValueKind == JsonValueKind.Array)
        {
            foreach (var inner in ps.EnumerateArray())
            {
                var r = ReadTemplate(inner);
                if (r.HasTemplate) return r;
            }
            return (false, null, null);
        }
        if (type != "TemplateProcessing" || !pp.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array)
            return (false, null, null);
        string? bos = null, eos = null;
        bool seenText = false;
        foreach (var item in single.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            if (item.TryGetProperty("Sequence", out _)) { seenText = true; continue; }
            if (item.TryGetProperty("SpecialToken", out var st) && st.ValueKind == JsonValueKind.Object &&
                st.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                if (seenText) eos ??= id.GetString(); else bos ??= id.GetString();
            }
        }
        return (true, bos, eos);
    }

    internal static string Short(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
