package io.dfly.common.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a component's YAML configuration over its defaults. Keys are camelCase or kebab-case
 * as the component's config class names them; unknown keys are an error so that a typo does
 * not silently fall back to a default.
 */
public final class ConfigFiles {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private ConfigFiles() {}

  /** Returns {@code defaults} updated with the file's values; {@code file} may be null. */
  public static <T> T load(Path file, T defaults) {
    if (file == null) {
      return defaults;
    }
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("config file " + file + " is not readable");
    }
    try {
      return YAML.readerForUpdating(defaults).readValue(file.toFile());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
      throw new IllegalArgumentException("config file " + file + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("config file " + file + ": " + e.getMessage(), e);
    }
  }
}
