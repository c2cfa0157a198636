using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>
/// Turns a model name into files: <c>minilm</c> (the embedded default), a local Hugging Face folder, an
/// <c>.onnx</c> file (vocab.txt and an optional config.json beside it), or <c>hf:ORG/NAME[@revision]</c>
/// (downloaded once into the Hub cache).
/// </summary>
internal static class ModelResolver
{
    public static ModelFiles Resolve(string name, HubClient? hub = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new AttnScopeException("no model named");
        if (name == EmbeddedMiniLm.Name)
        {
            var (onnx, vocab) = EmbeddedMiniLm.Extract();
            return new ModelFiles { Id = name, OnnxPath = onnx, VocabPath = vocab, BuiltInConfig = EmbeddedMiniLm.Config };
        }
        if (name.StartsWith("hf:", StringComparison.Ordinal))
        {
            var (repo, rev) = HubClient.ParseModelName(name);
            hub ??= new HubClient();
            var dir = hub.EnsureAsync(repo, rev,
            [
                (["config.json"], true),
                (["model.safetensors", "model.safetensors.index.json"], true),
                (["vocab.txt", "tokenizer.json", "vocab.json", "tokenizer.model"], true),
                (["merges.txt"], false),
                (["tokenizer_config.json"], false),
            ]).GetAwaiter().GetResult();
            var index = Optional(dir, "model.safetensors.index.json");
            if (Optional(dir, "model.safetensors") is null && index is not null)
            {
                var shards = SafetensorsWeights.ShardFiles(index);
                dir = hub.EnsureAsync(repo, rev, shards.Select(f => (new[] { f }, true)).ToList()).GetAwaiter().GetResult();
            }
            return FromFolder(dir, name);
        }
        if (Directory.Exists(name)) return FromFolder(name, name);
        if (File.Exists(name))
        {
            if (name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(name))!;
                var files = WithTokenizerFiles(new ModelFiles
                {
                    Id = name, OnnxPath = Path.GetFullPath(name),
                    ConfigPath = Optional(dir, "config.json"), TokenizerConfigPath = Optional(dir, "tokenizer_config.json"),
                }, dir);
                if (!files.HasTokenizer)
                    throw new AttnScopeException($"no vocab.txt or tokenizer.json next to '{name}' (nor vocab.json with merges.txt, nor tokenizer.model): the tokenizer is needed to turn text into ids");
                return files;
            }
            throw new AttnScopeException($"'{name}' is a file but not an .onnx model; give a model folder, an .onnx file, '{EmbeddedMiniLm.Name}' or hf:ORG/NAME");
        }
        throw new AttnScopeException($"unknown model '{name}': not '{EmbeddedMiniLm.Name}', not an existing folder or .onnx file, and not hf:ORG/NAME");
    }

    private static ModelFiles FromFolder(string dir, string id)
    {
        var config = Optional(dir, "config.json");
        var st = Optional(dir, "model.safetensors");
        var onnx = Optional(dir, "model.onnx") ?? Optional(Path.Combine(dir, "onnx"), "model.onnx");
        var index = st is null ? Optional(dir, "model.safetensors.index.json") : null;
        if (st is null && onnx is null && index is null)
        {
            var what = Optional(dir, "pytorch_model.bin") is not null ? " (pytorch_model.bin is not read: convert it to model.safetensors)" : "";
            throw new AttnScopeException($"folder '{dir}' has no model.safetensors, model.safetensors.index.json or model.onnx{what}");
        }
        if ((st is not null || index is not null) && config is null)
            throw new AttnScopeException($"folder '{dir}' has {(st is not null ? "model.safetensors" : "a sharded checkpoint")} but no config.json");
        var files = WithTokenizerFiles(new ModelFiles
        {
            Id = id, ConfigPath = config, SafetensorsPath = st, SafetensorsIndexPath = index, OnnxPath = onnx,
            TokenizerConfigPath = Optional(dir, "tokenizer_config.json"),
        }, dir);
        if (!files.HasTokenizer)
            throw new AttnScopeException($"folder '{dir}' has no vocab.txt or tokenizer.json (nor vocab.json with merges.txt, nor tokenizer.model)");
        return files;
    }

    /// <summary>Fills in the tokenizer files the folder holds.</summary>
    private static ModelFiles WithTokenizerFiles(ModelFiles files, string dir) => files with
    {
        VocabPath = Optional(dir, "vocab.txt"),
        TokenizerJsonPath = Optional(dir, "tokenizer.json"),
        VocabJsonPath = Optional(dir, "vocab.json"),
        MergesPath = Optional(dir, "merges.txt"),
        SentencePieceModelPath = Optional(dir, "tokenizer.model"),
    };

    private static string? Optional(string dir, string file)
    {
        var p = Path.Combine(dir, file);
        return File.Exists(p) ? Path.GetFullPath(p) : null;
    }
}
