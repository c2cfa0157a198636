using System.CommandLine;
namespace AttnScope.Cli;
public static class HeatmapCommand { public static Command Create(CliOutput output) => new("heatmap", "todo"); }
