package gitlabtest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Sizes of the generated oversized and binary files.
const (
	OversizedFileSize = 1<<20 + 512*1024 // above GitLab's 1 MiB search/indexing limit
	binaryFileSize    = 4096
)

func textBlob(s string) *blob { return &blob{data: []byte(s)} }

// textBlobf is textBlob(fmt.Sprintf(format, args...)) in one allocation: a
// lazy dataset regenerates a project's files for every blob search and
// GraphQL query that reads them.
func textBlobf(format string, args ...any) *blob {
	return &blob{data: fmt.Appendf(nil, format, args...)}
}

// projectFiles builds the default branch's file tree. Which optional files a
// project has depends on its ID, so tests can rely on, for example, every
// project with ID%3==0 having a multi-document port.yml.
func projectFiles(ps *projectState, r *rand.Rand, stack string, extra int, seed uint64) map[string]*blob {
	p := ps.p
	id := p.ID
	team := strings.ReplaceAll(p.Namespace.FullPath, "/", "-")
	tier := tiers[id%len(tiers)]
	files := map[string]*blob{
		"README.md": textBlobf("# %s\n\n%s\n\n## Getting started\n\nRun `make dev` and open http://localhost:8080.\n\n## Owners\n\nMaintained by @%s.\n",
			p.Name, *p.Description, team),
		"CODEOWNERS":           textBlobf("* @%s/maintainers\n/docs/ @%s/tech-writers\n/services/ @%s/backend\n", p.Namespace.FullPath, p.Namespace.FullPath, p.Namespace.FullPath),
		".gitlab-ci.yml":       textBlob("stages:\n  - build\n  - test\n  - deploy\n\ncompile:\n  stage: build\n  script: make build\n\nunit-test:\n  stage: test\n  script: make test\n"),
		"docs/index.md":        textBlobf("# %s documentation\n\nSee [setup](guides/setup.md).\n", p.Name),
		"docs/guides/setup.md": textBlob("# Setup\n\n1. Clone the repository.\n2. Install the toolchain.\n3. Run the tests.\n"),
	}
	// port.yml: two out of three projects; multi-document for ID%3==0, with a
	// file:// reference the provider resolves for ID%6==0.
	switch id % 3 {
	case 0:
		readme := ""
		if id%6 == 0 {
			readme = "  readme: file://README.md\n"
		}
		files["port.yml"] = textBlobf("identifier: %s\ntitle: %s\nblueprint: service\nproperties:\n  tier: %s\n  team: %s\n%s---\nidentifier: %s-worker\ntitle: %s worker\nblueprint: service\nproperties:\n  tier: Internal Service\n  team: %s\n",
			p.Path, p.Name, tier, team, readme, p.Path, p.Name, team)
	case 1:
		files["port.yml"] = textBlobf("identifier: %s\ntitle: %s\nblueprint: service\nproperties:\n  tier: %s\n  team: %s\n", p.Path, p.Name, tier, team)
	}
	if id%2 == 0 {
		files["catalog-info.yaml"] = textBlobf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\n  description: %s\nspec:\n  type: service\n  lifecycle: production\n  owner: %s\n",
			p.Path, *p.Description, team)
	}
	services := []string{nouns[r.IntN(len(nouns))], adjectives[r.IntN(len(adjectives))] + "-api"}
	if services[0] == services[1] {
		services = services[:1]
	}
	ext := stacks[stack][0].ext
	for _, svc := range services {
		files["services/"+svc+"/port.yml"] = textBlobf("identifier: %s-%s\ntitle: %s\nblueprint: service\nproperties:\n  tier: Internal Service\n", p.Path, svc, svc)
		files["services/"+svc+"/README.md"] = textBlobf("# %s\n\nPart of %s.\n", svc, p.PathWithNamespace)
		files["services/"+svc+"/main."+ext] = textBlob(sourceFile(ext, svc))
	}
	switch stack {
	case "go":
		files["go.mod"] = textBlobf("module example.com/%s\n\ngo 1.24\n", p.PathWithNamespace)
		files["main.go"] = textBlob(sourceFile("go", "main"))
	case "node":
		files["package.json"] = textBlobf("{\n  \"name\": \"@%s/%s\",\n  \"version\": \"1.%d.0\",\n  \"private\": true,\n  \"dependencies\": {\n    \"express\": \"^4.19.2\",\n    \"zod\": \"^3.23.8\"\n  },\n  \"devDependencies\": {\n    \"typescript\": \"^5.5.4\"\n  }\n}\n",
			team, p.Path, id%10)
		files["src/index.ts"] = textBlob(sourceFile("ts", "index"))
	case "python":
		files["requirements.txt"] = textBlob("fastapi==0.112.0\nuvicorn==0.30.5\npydantic==2.8.2\n")
		files["app.py"] = textBlob(sourceFile("py", "app"))
	case "ruby":
		files["Gemfile"] = textBlob("source 'https://rubygems.org'\n\ngem 'rails', '~> 7.1'\n")
		files["app.rb"] = textBlob(sourceFile("rb", "app"))
	}
	if id%3 == 0 {
		skill := nouns[id%len(nouns)] + "-helper"
		files[".claude/skills/"+skill+"/SKILL.md"] = textBlobf("---\nname: %s\ndescription: Helps with %s tasks in %s.\n---\n\n# %s\n\nUse this skill when working on %s.\n",
			skill, nouns[id%len(nouns)], p.Name, skill, p.Name)
	}
	if id%4 == 1 {
		files["skills/release-notes/SKILL.md"] = textBlob("---\nname: release-notes\ndescription: Writes release notes from merged MRs.\n---\n\nCollect merged merge requests and summarise them.\n")
	}
	if id%5 == 2 {
		files[".claude-plugin/plugin.json"] = textBlobf("{\n  \"name\": \"%s-plugin\",\n  \"version\": \"0.%d.0\",\n  \"description\": \"Tools for %s\"\n}\n", p.Path, id%9, p.Name)
	}
	if id%2 == 1 {
		files["assets/logo.png"] = &blob{lazySize: binaryFileSize, lazySeed: seed ^ uint64(id)<<8, binary: true}
	}
	if id%5 == 0 {
		files["data/fixtures.json"] = &blob{lazySize: OversizedFileSize, lazySeed: seed ^ uint64(id)<<16}
	}
	files["scripts/deploy.sh"] = &blob{data: []byte("#!/bin/sh\nset -eu\necho deploying\n"), exec: true}
	for i := range extra {
		files[fmt.Sprintf("src/module_%d.%s", i, ext)] = textBlob(sourceFile(ext, fmt.Sprintf("module_%d", i)))
	}
	return files
}

func sourceFile(ext, name string) string {
	switch ext {
	case "go":
		return fmt.Sprintf("package main\n\n// %s is generated by gitlabtest.\nfunc %s() string { return %q }\n", name, strings.ReplaceAll(name, "-", "_"), name)
	case "ts", "js":
		return fmt.Sprintf("export function %s(): string {\n  return %q;\n}\n", strings.ReplaceAll(name, "-", "_"), name)
	case "py":
		return fmt.Sprintf("def %s():\n    return %q\n", strings.ReplaceAll(name, "-", "_"), name)
	default:
		return fmt.Sprintf("def %s\n  %q\nend\n", strings.ReplaceAll(name, "-", "_"), name)
	}
}
