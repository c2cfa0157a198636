namespace AttnScope.Views; public static class Placeholder {}
